import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** The specs' helpers for "nothing stored is changed": a file's SHA-256 ('absent' where there is none), and its journal mode. */

/** An event id, the i-th. */
export const eventId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
export const hashOf = (file: string) => (fs.existsSync(file) ? createHash('sha256').update(fs.readFileSync(file)).digest('hex') : 'absent');
/** The SHA-256 of a store's file and of its -wal. */
export const storeHashes = (file: string) => ({ file: hashOf(file), wal: hashOf(`${file}-wal`) });
/** The file's journal mode as its header says it: [2, 2] WAL, [1, 1] rollback journal (bytes 18 and 19). */
export const headerMode = (file: string) => [...fs.readFileSync(file).subarray(18, 20)];
/** The SHA-256 of no bytes: an empty -wal's. */
export const EMPTY_SHA256 = createHash('sha256').digest('hex');
