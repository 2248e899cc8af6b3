import * as fs from 'node:fs';
import { PAGE_SIZE, SqliteEventStore } from '../sqlite-event-store';

/**
 * Makes `file` a SQLite store of 3,000 events (one stream `d`, 1 KB each, positions 1-3000) with
 * one page of its events' table overwritten, as a damaged disk or an edit would leave it: a read of
 * the log fails there with SQLITE_CORRUPT ("database disk image is malformed"). `beforeDamage` is
 * given the store while it is whole.
 */
export async function makeDamagedStore(file: string, beforeDamage?: (store: SqliteEventStore) => Promise<void>): Promise<void> {
  const made = new SqliteEventStore(file, { writer: 'inline' });
  try {
    for (let b = 0; b < 6; b++) await made.appendToStream('d', Array.from({ length: 500 }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(b * 500 + i + 1).padStart(12, '0')}`, type: 'T', data: { text: 'x'.repeat(1000) } })));
    await beforeDamage?.(made); // read models projected from it while it was whole, say
  } finally {
    await made.dispose();
  }
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, Buffer.alloc(PAGE_SIZE, 0xff), 0, PAGE_SIZE, PAGE_SIZE * 200);
  } finally {
    fs.closeSync(fd);
  }
}
