import { parseRegisteredRole, type DccPartyRole } from '../catalogue';
import { USER_STATUSES, type LedgerEvent, type UserRoleRegisteredV1, type UserStatus } from '../events';
import { DomainError, parseInstant, parseUserId, type Instant, type UserId, type UserRole } from '../identifiers';
import { evolveUser, type UserState } from '../state';
import { parseOneOf, type Decider } from './decider';
import { checkChangedSince, lastAtSameInstant, sameInstant } from './resent';

/** Register a User acting in a User Role (or an org id of the DCC in its party role), effective from an instant. */
export interface RegisterUserRole {
  kind: 'RegisterUserRole';
  userId: UserId;
  role: UserRole | DccPartyRole;
  /** Only an Active role may send requests (else E3). Active when not given. */
  status: UserStatus;
  /** Market identifiers of the role, e.g. the distributor IDs an ED operates. */
  marketIds: string[];
  effectiveFrom: Instant;
}

/** The command as a door hands it over, before it is checked. */
export interface RegisterUserRoleInput {
  userId: unknown;
  role: unknown;
  status?: unknown;
  marketIds?: unknown;
  effectiveFrom: unknown;
}

/** Checks a role registration, field by field in this order; the first problem is a DomainError naming its field. */
export function parseRegisterUserRole(input: RegisterUserRoleInput): RegisterUserRole {
  const userId = parseUserId(input.userId, 'userId');
  const role = parseRegisteredRole(input.role, 'role');
  const status = parseOneOf(USER_STATUSES, input.status ?? 'Active', 'status');
  const marketIds = input.marketIds ?? [];
  if (!Array.isArray(marketIds) || !marketIds.every((m) => typeof m === 'string')) throw new DomainError('marketIds', 'must be a list of strings');
  const effectiveFrom = parseInstant(input.effectiveFrom, 'effectiveFrom');
  return { kind: 'RegisterUserRole', userId, role, status, marketIds, effectiveFrom };
}

type UserRoleRegistered = { type: 'UserRoleRegistered'; data: UserRoleRegisteredV1 };

/**
 * A User's stream (`user-<User ID>`): the roles it holds. A registration is a fact the DSP is told
 * of, so it is always recorded; a later one for the same role replaces it (its status, market ids
 * and effective date).
 */
export const userDecider: Decider<RegisterUserRole, UserState, UserRoleRegistered> = {
  initialState: (userId) => ({ userId, roles: {} }),
  evolve: evolveUser,
  decide: (c) => [{ type: 'UserRoleRegistered', data: { schemaVersion: 1, userId: c.userId, role: c.role, status: c.status, marketIds: c.marketIds, effectiveFrom: c.effectiveFrom } }],
};

/**
 * A role registration found recorded (its retry), against the User as folded now: a retry while
 * the last registration of the same role at the same `effectiveFrom` (its fold's registrations, in
 * the order recorded) is this one; else refused (FactChangedSinceError naming `effectiveFrom`), since the record
 * holds that one and this, sent again, may be a change back to it at the same instant.
 */
export function checkRoleChangedSince(c: RegisterUserRole, user: UserState): void {
  const last = lastAtSameInstant(user.registrations, (r) => r.role === c.role && sameInstant(r.effectiveFrom, c.effectiveFrom));
  const again = evolveUser(userDecider.initialState(c.userId), userDecider.decide(c, userDecider.initialState(c.userId))[0]).registrations![0];
  checkChangedSince('effectiveFrom', `the registration of ${c.userId} in role ${c.role} as ${c.status} from ${c.effectiveFrom}`, last, again, { instants: ['effectiveFrom'] });
}
