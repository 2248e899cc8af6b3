import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RecordedEvent } from './event-store.port';
import { keyTwiceInStored } from './hash-chain';
import { pagesOf, SqliteEventStore } from './sqlite-event-store';

/**
 * A read with `stored: 'checked'` (the projector's: its chain check) gives each event what a check
 * of its stored text found, not the text: a batch of events holding their texts cost a catch-up
 * more CPU in garbage collection. It finds what a read of the text (`stored: true`, verify's) does.
 */
describe("SQLite's read of each event's stored text checked", () => {
  let dir: string;
  let store: SqliteEventStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-checked-'));
    const file = path.join(dir, 'ledger.sqlite');
    store = new SqliteEventStore(file);
    await store.appendToStream('s', [0, 1, 2].map((n) => ({ id: `00000000-0000-4000-8000-00000000000${n}`, type: 'T', data: { n, role: 'x' } })));
    await store.dispose();
    const db = new Database(file);
    db.prepare(`UPDATE events SET data = '{"role":"IS",' || substr(data, 2) WHERE revision = 1`).run();
    db.close();
    store = new SqliteEventStore(file);
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const all = async (read: AsyncIterable<RecordedEvent | Iterable<RecordedEvent>>, pages: boolean) => {
    const events: RecordedEvent[] = [];
    for await (const x of read) events.push(...(pages ? (x as Iterable<RecordedEvent>) : [x as RecordedEvent]));
    return events;
  };

  it.each(['readAll', 'readAllPages', 'a subscription'])('%s: the reason of the one text that gives a key twice, and no text kept', async (how) => {
    const withText = await all(store.readAll({ stored: true }), false);
    const expected = withText.map((e) => keyTwiceInStored(e.stored!));
    expect(expected.map((r) => r !== undefined)).toEqual([false, true, false]);
    let checked: RecordedEvent[];
    if (how === 'readAll') checked = await all(store.readAll({ stored: 'checked' }), false);
    else if (how === 'readAllPages') checked = await all(pagesOf(store, { stored: 'checked' }), true);
    else {
      const sub = store.subscribeToAll({ stored: 'checked' });
      checked = [];
      for await (const e of sub) if (checked.push(e) === 3) break;
      await sub.unsubscribe();
    }
    expect(checked.map((e) => [e.storedTextMismatch, 'stored' in e])).toEqual(expected.map((r) => [r, false]));
  });
});
