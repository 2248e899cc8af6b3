import * as fs from 'node:fs';
import * as path from 'node:path';
import { SQLITE_SIDE_FILES, SQLITE_SIDE_SUFFIXES } from '@ledger/event-store/sqlite-files';
import { ReadModelsBusyError, ReadModelsGoneError, type ReadModelDb } from '../read-model-db';
import { replacedNotOfStore, type Projector, type ReplacedNotOfStore } from './projector';

/** A directory where an orphaned rebuild's file would be: not the ledger's (it never makes one there), so neither removed nor passed by unsaid. */
export class RebuildPathTakenError extends Error {
  override readonly name = 'RebuildPathTakenError';
  constructor(readonly path: string) {
    super(`${path} is a directory where a rebuild of the read models leaves its file, and none of the ledger's: move it elsewhere (or remove it), then try again`);
  }
}

/**
 * A rebuild into a file of its own found no room for it (SQLITE_FULL: a full disk, or a size limit reached): its file is
 * removed and the read models left as they were. Says where, and the room it needs there: as much as the read models.
 */
export class RebuildOutOfSpaceError extends Error {
  override readonly name = 'RebuildOutOfSpaceError';
  constructor(readModelsFile: string, override readonly cause?: unknown) {
    const size = fs.statSync(readModelsFile, { throwIfNoEntry: false })?.size ?? 0;
    super(
      `no room to rebuild the read models in ${path.dirname(path.resolve(readModelsFile))} (the disk is full, or a size limit reached): a rebuild builds a file beside them as large as they are, ${(size / 1e6).toFixed(1)} MB (${readModelsFile}), which are left as they were; make that much room there and run it again`,
    );
  }
}

/** A rebuild's swap refused while another connection reads the live read models: asked again this often, this many times (5 s in all). */
const SWAP_ATTEMPTS = 50;
const SWAP_RETRY_MS = 100;

/** Rebuild files named by this process: each rebuild's own, however many are asked for in one millisecond. */
let rebuildFiles = 0;

/** The file a rebuild builds its read models in, beside the live ones (`<read models>.rebuild-<pid>-<ms>-<n>`: removeOrphanedRebuilds knows it). */
export function rebuildFileBeside(readModelsFile: string): string {
  return `${readModelsFile}.rebuild-${process.pid}-${Date.now()}-${++rebuildFiles}`; // two asked in one millisecond build two files
}

/**
 * Removes a rebuild's file with what SQLite keeps beside it: its -wal and -shm, or its -journal (a rollback journal, left
 * by a rebuild stopped early). Until 2026-11-27 (fifteenth session) the list was written out three times, without -journal.
 */
export function removeRebuildFile(file: string): void {
  for (const suffix of SQLITE_SIDE_FILES) fs.rmSync(`${file}${suffix}`, { force: true });
}

/**
 * Puts a finished rebuild's file in place of the live read models, the projector's (its writer's db: until 2026-11-27,
 * sixteenth session, they were passed beside it, two objects that had to be of one file): what `ledger rebuild` and a
 * rebuild job's end both do (the caller stops its live projector first, if it runs one). At each try of the swap it follows a swap another process made meanwhile
 * (Projector.followReplaced; one put off, its file locked at the look, is refused by the swap and tried again: until the seventeenth
 * session the swap went on through the replaced file's connection, its checkpoint and look for readers that file's), then asks whether the live read models are of the store's log (Projector.notOfStore:
 * projected past its head, or of another event at their checkpoint), then swaps (ReadModelDb.replaceWith): the swap clears that
 * trace, so it answers what it replaced then (replacedNotOfStore), for the caller to say. Asked at the swap, not before
 * the build: a log cut while the rebuild ran is said too (until 2026-11-27, fifteenth session, `ledger rebuild` asked
 * before it, and a cut meanwhile halted the APIs beside it and was cleared by the swap unsaid).
 * A swap refused (ReadModelsBusyError: another connection reads the live read models, a ledger command, another API's query;
 * or another process's swap not followed yet) is tried again every SWAP_RETRY_MS, SWAP_ATTEMPTS times, not waited on with the
 * event loop held: a whole rebuild is not thrown away for one read. Past that, a ReadModelsBusyError saying so (the tries and the
 * time, from these constants: until 2026-11-27 the CLI rewrote the last refusal's message, "5 s" written in it), with the last
 * refusal's own why (until the seventeenth session's review it always blamed a reader). Anything failing on the way removes
 * `built` and leaves the read models as they were (until the seventeenth session's review the tries were replaceWhenFree's, a
 * function of their own given the follow and the question as a callback).
 * The follow is not left out though the swap replaces that file a moment later: the swap's checkpoint of its WAL and look
 * for its readers, notOfStore's question of it, and a swap refused (the process left on it) all need it opened and
 * installed. On read models of this build that is a median 1.3-1.5 ms (open, look, install: 1.2-2.1 ms; 7 follows a run,
 * three runs, the 20,000-device demo estate's 109 MB file, load 3.8, 2026-11-28 00:48 UTC); the rest of a follow, 42-45 ms
 * there (37-64 ms), is closing the replaced file's connection, which frees that file, and the swap closes it anyway. Only a file of an older build that lacks a back-filled table set costs more (the back-fill).
 */
export async function putRebuiltInPlace(projector: Pick<Projector, 'notOfStore' | 'followReplaced' | 'writer'>, built: string): Promise<ReplacedNotOfStore | undefined> {
  const readModels = projector.writer.db;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        projector.followReplaced(); // kept as a live look's is (/health's readModels.replaced)
      } catch (err) {
        // The live file deleted meanwhile: the swap puts one there (the final read of 2026-11-27, fifteenth session: it was refused, the
        // rebuilt file thrown away). Another file there that is not followed stays refused: a swap would destroy it.
        if (!(err instanceof ReadModelsGoneError)) throw err;
      }
      const notOfStore = await projector.notOfStore();
      try {
        readModels.replaceWith(built);
        return notOfStore && replacedNotOfStore(notOfStore);
      } catch (err) {
        if (!(err instanceof ReadModelsBusyError)) throw err;
        if (attempt >= SWAP_ATTEMPTS) {
          throw new ReadModelsBusyError(
            built,
            err.why,
            `the rebuilt read models could not be put in place of ${readModels.file}, which are left as they were: the swap was refused at each of ${SWAP_ATTEMPTS} tries over ${(SWAP_ATTEMPTS * SWAP_RETRY_MS) / 1000} s, the last because ${err.why}; run the rebuild again`,
          );
        }
      }
      await new Promise((r) => setTimeout(r, SWAP_RETRY_MS));
    }
  } catch (err) {
    removeRebuildFile(built);
    throw err;
  }
}

/** A rebuild file untouched this long is no live rebuild's (one commits every 16,000 events, and its index build writes on). */
export const ORPHANED_AFTER_MS = 5 * 60_000;

/** A rebuild file's name after `<read models>.rebuild-`: its pid, its time, a count, and a side file's suffix (SQLITE_SIDE_SUFFIXES). */
const REBUILD_NAME = new RegExp(`^(\\d+)-\\d{13,}(?:-\\d+)?(${SQLITE_SIDE_SUFFIXES.join('|')})?$`);

/**
 * Removes the files of rebuilds that a process no longer running left behind (`<read models>.rebuild-<pid>-<ms>-<n>`,
 * with its -wal and -shm, or a -journal: SQLite's rollback journal, which a rebuild killed early left in a test of
 * 2026-11-27, fifteenth session, where the sweep passed it by for good): an API killed mid-rebuild (SIGKILL, a crash, the machine) never ran the
 * job's end, nor a `ledger rebuild` killed its own, and each such file is as large as the read models. Only files untouched for
 * `ORPHANED_AFTER_MS`: a pid says nothing across pid namespaces (containers sharing a volume each
 * number their own, each API often pid 1, a restarted container the pid its predecessor had), so a
 * file of a pid not running here, or of this one's, may still be another container's live rebuild;
 * one of a live process here is kept whatever its age. Answers the files removed. Until the review
 * of 2026-11-27 a file of this process's pid was removed at once (a second container's live rebuild
 * on a shared volume), and a copy named by a date (`.rebuild-2026-11-27`) was taken for pid 2026's.
 * A directory of such a name stops it, named (the start, or `ledger rebuild`).
 */
export function removeOrphanedRebuilds(readModelsFile: string, now = Date.now()): string[] {
  const dir = path.dirname(path.resolve(readModelsFile));
  const prefix = `${path.basename(readModelsFile)}.rebuild-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const rebuilds = new Map<string, string[]>(); // each rebuild's file with its -wal and -shm, or its -journal
  for (const name of names) {
    const m = name.startsWith(prefix) ? REBUILD_NAME.exec(name.slice(prefix.length)) : null;
    // pid 0 and 1 say nothing (kill(0) signals this process's group; 1 is init, or a container's first process): their age alone decides.
    if (!m || (Number(m[1]) > 1 && Number(m[1]) !== process.pid && isRunning(Number(m[1])))) continue;
    const base = m[2] ? name.slice(0, -m[2].length) : name;
    rebuilds.set(base, [...(rebuilds.get(base) ?? []), name]);
  }
  const removed: string[] = [];
  for (const files of rebuilds.values()) {
    const touched = Math.max(...files.map((f) => modified(path.join(dir, f))));
    if (now - touched < ORPHANED_AFTER_MS) continue;
    for (const f of files) {
      const file = path.join(dir, f);
      // Not a rebuild's: the ledger never makes a directory there, so it is neither removed nor passed by unsaid (until 2026-11-28 fs.rm's "Path is a directory: rm returned EISDIR").
      if (fs.lstatSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new RebuildPathTakenError(file);
      fs.rmSync(file, { force: true });
    }
    removed.push(...files);
  }
  return removed;
}

function modified(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Infinity; // gone meanwhile: nothing to remove
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // there, but another user's
  }
}
