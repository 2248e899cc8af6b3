import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { PAGE_SIZE, SqliteEventStore } from '../sqlite-event-store';

/**
 * Makes `file` a SQLite store of 3,000 events (one stream `d`, 1 KB each, positions 1-3000) with
 * one page of its events' table overwritten, as a damaged disk or an edit would leave it: a read of
 * the log fails there with SQLITE_CORRUPT ("database disk image is malformed"). `beforeDamage` is
 * given the store while it is whole. `cell`: instead, only the first cell pointer of the `leaf`th
 * leaf page of the table (by dbstat's path order) is overwritten, with `pointer` (an offset in the
 * page): SQLite then fails some reads of that page, and gives others a row that is no event's
 * (nulls: `pointer` 256, an empty part of the page) or none (4000, within another cell), as the
 * query and its LIMIT meet it. `cell.bytes`: written at `pointer` too (a cell of SQLite's format:
 * its payload's size and its rowid, varints). `root`: instead, the root page of that table or index
 * overwritten (`events`, or its index on (stream, revision): `sqlite_autoindex_events_1`), an
 * interior page, which every lookup of it goes through. `lastCellLost`: instead, the `leaf`th leaf
 * page's (negative: from the last, -1 the last) count of cells written one less, so that its last cell is in no read and no lookup, with
 * no error: the table has lost that event, its index on (stream, revision) still holds it.
 */
export async function makeDamagedStore(file: string, beforeDamage?: (store: SqliteEventStore) => Promise<void>, damage?: { leaf: number; pointer: number; bytes?: number[] } | { root: string } | { leaf: number; lastCellLost: true }): Promise<void> {
  const made = new SqliteEventStore(file, { writer: 'inline' });
  try {
    for (let b = 0; b < 6; b++) await made.appendToStream('d', Array.from({ length: 500 }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(b * 500 + i + 1).padStart(12, '0')}`, type: 'T', data: { text: 'x'.repeat(1000) } })));
    await beforeDamage?.(made); // read models projected from it while it was whole, say
  } finally {
    await made.dispose();
  }
  // [bytes, where in the file]
  let writes: Array<[Buffer, number]> = [[Buffer.alloc(PAGE_SIZE, 0xff), PAGE_SIZE * 200]];
  if (damage) {
    const db = new Database(file, { readonly: true });
    try {
      if ('root' in damage) {
        const root = db.prepare<[string], number>('SELECT rootpage FROM sqlite_master WHERE name = ?').pluck().get(damage.root)!;
        writes = [[Buffer.alloc(PAGE_SIZE, 0xff), PAGE_SIZE * (root - 1)]];
      } else {
        // A negative `leaf` counts from the last (-1: the leaf holding the log's last events).
        const { pageno, ncell } = db.prepare(`SELECT pageno, ncell FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY path${damage.leaf < 0 ? ' DESC' : ''} LIMIT 1 OFFSET ?`).get(damage.leaf < 0 ? -damage.leaf - 1 : damage.leaf) as { pageno: number; ncell: number };
        if ('lastCellLost' in damage) writes = [lastCellLost(pageno, ncell)];
        else {
          const pointer = Buffer.alloc(2);
          pointer.writeUInt16BE(damage.pointer);
          writes = [[pointer, PAGE_SIZE * (pageno - 1) + 8]]; // a table leaf page's header is 8 bytes, its cell pointers follow
          if (damage.bytes) writes.push([Buffer.from(damage.bytes), PAGE_SIZE * (pageno - 1) + damage.pointer]);
        }
      }
    } finally {
      db.close();
    }
  }
  writeInto(file, writes);
}

/** Writes each [bytes, where in the file] into `file`. */
function writeInto(file: string, writes: Array<[Buffer, number]>): void {
  const fd = fs.openSync(file, 'r+');
  try {
    for (const [bytes, at] of writes) fs.writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    fs.closeSync(fd);
  }
}

/** A table leaf page `pageno` of `ncell` cells with its count of cells written one less: [bytes, where in the file]. */
function lastCellLost(pageno: number, ncell: number): [Buffer, number] {
  const cells = Buffer.alloc(2);
  cells.writeUInt16BE(ncell - 1);
  return [cells, PAGE_SIZE * (pageno - 1) + 3]; // a table leaf page's header: its count of cells at offset 3
}

/**
 * Makes the store `file` (closed) lose the log's last event as makeDamagedStore's `lastCellLost`
 * does (its last leaf's count of cells one less): the table no longer holds it, its index on
 * (stream, revision) still does, with no error. Gives the lost event's position and stream.
 */
export function loseLastEvent(file: string): { position: bigint; stream: string } {
  const db = new Database(file, { readonly: true });
  let lost: { position: bigint; stream: string };
  let write: [Buffer, number];
  try {
    db.defaultSafeIntegers(true);
    lost = db.prepare('SELECT position, stream FROM events ORDER BY position DESC LIMIT 1').get() as { position: bigint; stream: string };
    const { pageno, ncell } = db.prepare("SELECT pageno, ncell FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY path DESC LIMIT 1").get() as { pageno: bigint; ncell: bigint };
    write = lastCellLost(Number(pageno), Number(ncell));
  } finally {
    db.close();
  }
  writeInto(file, [write]);
  return lost;
}

/**
 * Makes the store `file` (closed) lose a cell of its index on (stream, revision), not of its table (its first leaf's count of cells
 * one less): every event is still read, and only a count of the table against its index shows the damage, at no position known.
 */
export function loseIndexCell(file: string): void {
  const db = new Database(file, { readonly: true });
  let write: [Buffer, number];
  try {
    const { pageno, ncell } = db.prepare("SELECT pageno, ncell FROM dbstat WHERE name = 'sqlite_autoindex_events_1' AND pagetype = 'leaf' ORDER BY path LIMIT 1").get() as { pageno: number; ncell: number };
    write = lastCellLost(pageno, ncell); // an index leaf page's header holds its count of cells where a table leaf's does
  } finally {
    db.close();
  }
  writeInto(file, [write]);
}
