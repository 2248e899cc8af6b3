import { checkRoleChangedSince, userDecider, userStream, type RegisterUserRole, type UserState } from '@ledger/domain';
import { writtenState, type CommandWiring } from './handler';

/** A role registration, on the User's stream; the same registration sent again is the same fact, while no other registration of the role at its instant was recorded since. */
export const registerUserRole: CommandWiring<RegisterUserRole, UserState> = {
  stream: (c) => ({ name: userStream(c.userId), id: c.userId }),
  fold: userDecider,
  read: writtenState,
  decide: (c, state) => userDecider.decide(c, state),
  eventName: (c) => `user:${c.userId}:${c.role}:${c.status}:${c.effectiveFrom}:${c.marketIds.join(',')}`,
  changedSince: checkRoleChangedSince,
};
