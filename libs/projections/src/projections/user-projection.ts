import { evolveUser, type LedgerEventType, type UserState } from '@ledger/domain';
import { loadState, type ReadModelDb } from '../read-model-db';
import { FoldCache } from './fold-cache';
import { truncate, type ProjectedEvent, type Projection } from './projection';

/** Users: each User's roles as the domain folds them (`users.state`). */
export class UserProjection implements Projection {
  readonly name = 'users';
  readonly handles: ReadonlySet<LedgerEventType> = new Set(['UserRoleRegistered'] as const);
  readonly tables = ['users'];
  readonly schema = 'CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, state TEXT NOT NULL);';

  private readonly stmts = this.rm.statements((db) => ({
    user: db.prepare<[string], { state: string }>('SELECT state FROM users WHERE user_id = ?'),
    putUser: db.prepare<[string, string]>('INSERT INTO users (user_id, state) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET state = excluded.state'),
  }));

  constructor(private readonly rm: ReadModelDb) {}

  applyBatch(batch: readonly ProjectedEvent[]): void {
    const s = this.stmts();
    const users = new FoldCache<UserState>(
      (k) => loadState<UserState>(s.user, k),
      (k, state) => s.putUser.run(k, JSON.stringify(state)),
    );
    for (const { event } of batch) if (event.type === 'UserRoleRegistered') users.update(event.data.userId, (state) => evolveUser(state, event)!);
    users.flush();
  }

  reset(): void {
    truncate(this.rm.db, this.tables);
  }
}
