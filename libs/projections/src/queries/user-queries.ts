import { userAt, type UserState } from '@ledger/domain';
import { loadState, type ReadModelDb } from '../read-model-db';
import { loadStates } from './states';

/** Users and their roles. */
export class UserQueries {
  private readonly stmt = this.rm.statements((db) => db.prepare<[string], { state: string }>('SELECT state FROM users WHERE user_id = ?'));

  constructor(
    private readonly rm: ReadModelDb,
    private readonly clock: () => string = () => new Date().toISOString(),
  ) {}

  /**
   * A User with its roles as in force now (`userAt`; default: the clock), as rule sets @3 judge
   * them; `registrations` lists every registration, those effective later too.
   */
  user(userId: string, now: string = this.clock()): UserState | undefined {
    const user = loadState<UserState>(this.stmt(), userId);
    return user && userAt(user, now);
  }

  /** Many users at once, by id (those known). */
  users(userIds: Iterable<string>): Map<string, UserState> {
    return loadStates<UserState>(this.rm.db, 'users', 'user_id', userIds);
  }
}
