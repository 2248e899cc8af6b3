import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteEventStore } from '@ledger/event-store';
import { makeDamagedStore } from '@ledger/event-store/testing/damaged-store';
import { AuditController } from './audit.controller';

/** GET /audit/verify/incremental at the log's end: a tail deleted is missing, a tail lost to damage is damage. */

describe("the incremental verification at the log's end", () => {
  // Read models that checked the log through 2999 (a stand-in: the part under test is what the store says past the table's last).
  const report = { verifiedThrough: '2999', streams: 1, ok: true, breaks: [], breakCount: 0, digest: 'd', missing: [], missingCount: 0, textCheckedFrom: null };
  const controller = (store: SqliteEventStore) =>
    new AuditController(store, {} as never, { incrementalVerification: () => report } as never, {} as never, {} as never, { halted: undefined, failing: undefined } as never, {} as never);

  it("says a last cell the table lost (its index still holding it) as damage, not as positions missing, a deletion (until the seventeenth session's final read, named missing); the same tail deleted, missing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'incremental-tail-'));
    const file = path.join(dir, 'ledger.sqlite');
    try {
      await makeDamagedStore(file, undefined, { leaf: -1, lastCellLost: true }); // position 3000 lost: the table ends at 2999
      const damaged = new SqliteEventStore(file);
      try {
        const r = await controller(damaged).verifyIncremental();
        expect(r).toMatchObject({ ok: false, missing: [], missingCount: 0, damaged: { message: expect.stringContaining('position 3000') } });
      } finally {
        await damaged.dispose();
      }
      const db = new Database(file);
      db.exec('REINDEX'); // the index as the table is: 3000 gone from both, as a DELETE leaves it
      db.close();
      const deleted = new SqliteEventStore(file);
      try {
        const r = await controller(deleted).verifyIncremental();
        expect(r).toMatchObject({ ok: false, missing: [{ from: '3000', to: '3000' }], missingCount: 1 });
        expect(r).not.toHaveProperty('damaged');
      } finally {
        await deleted.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
