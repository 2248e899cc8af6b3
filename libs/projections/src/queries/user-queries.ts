import type { UserState } from '@ledger/domain';
import { loadState, type ReadModelDb } from '../read-model-db';
import { loadStates } from './states';

/** Users and their roles. */
export class UserQueries {
  private readonly stmt = this.rm.statements((db) => db.prepare<[string], { state: string }>('SELECT state FROM users WHERE user_id = ?'));

  constructor(private readonly rm: ReadModelDb) {}

  user(userId: string): UserState | undefined {
    return loadState<UserState>(this.stmt(), userId);
  }

  /** Many users at once, by id (those known). */
  users(userIds: Iterable<string>): Map<string, UserState> {
    return loadStates<UserState>(this.rm.db, 'users', 'user_id', userIds);
  }
}
