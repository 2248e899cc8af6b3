import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteEventStore } from '@ledger/event-store';
import { openReadModels } from '../processor/projection-writer';
import { rebuildInto } from '../processor/rebuild-into';
import { AuditJobQueries } from './audit-job-queries';

/**
 * Two processes on one read-model file (two APIs): one swaps a rebuild in, the other's connection
 * stays on the file that swap replaced (deleted). What the other says built the live read models
 * (a sweep recording the first one's rebuild as interrupted, swapped in or not) is what the file at
 * the path says now.
 */
describe('rebuiltBy, after another connection swapped rebuilt read models in', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names the rebuild whose file is live now, not what the file this connection opened said (until the fourteenth session of 2026-11-27: what the replaced file said, undefined here)', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-rebuilt-by-'));
    const store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const live = path.join(dir, 'read-models.sqlite');
    const swapping = openReadModels(live); // the API that swaps
    const other = openReadModels(live); // another API on the same file
    const queries = new AuditJobQueries(other.db);
    try {
      expect(queries.rebuiltBy()).toBeUndefined();
      for (const name of ['r1.sqlite', 'r2.sqlite']) {
        const built = path.join(dir, name);
        await rebuildInto(store, built);
        swapping.db.replaceWith(built);
        expect(queries.rebuiltBy()).toBe(built);
      }
    } finally {
      swapping.db.db.close();
      other.db.db.close();
      await store.dispose();
    }
  });
});
