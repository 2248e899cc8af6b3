import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PAGE_SIZE } from '@ledger/event-store/sqlite-writer';
import { isBusy } from '@ledger/event-store/errors';
import { sameInode } from '@ledger/event-store/sqlite-files';

/** How long a connection waits on another's lock before SQLITE_BUSY (a CLI command beside an API, two APIs' projectors on one file). */
const BUSY_TIMEOUT_MS = 5000;
/** How long work on a live event loop (a projector's batch, an open that follows another process's swap) waits on another connection's lock on the read models before it lets go and tries again later. */
export const LIVE_LOCK_WAIT_MS = 100;

/** A part of the read-model file: its tables, created when missing, and how to fill them when they are new in a file that already holds projected events. */
export interface TableSet {
  readonly schema: string;
  /**
   * Its indexes that no projection reads by while it applies a batch in a rebuild into a file of its
   * own (queries do; and the stuck-device projection reads devices_mpxn, but not holding, as such a
   * rebuild holds it) (CREATE INDEX IF NOT EXISTS statements), made when the file is opened: that
   * rebuild (`bulk` with `indexesAtEnd`) drops them at its start and makes them at its end from the
   * finished tables, rather than keep them up row by row.
   */
  readonly queryIndexes?: string;
  readonly tables: readonly string[];
  backfill?(): void;
  /** Brings tables made by earlier code to this schema (a column added since), each time the file is opened. */
  upgrade?(db: Database.Database): void;
}

/** The read models cannot be replaced this instant (replaceWith, which waits on nobody), and `why`: another connection reads them, or another process's swap is not followed yet. */
export class ReadModelsBusyError extends Error {
  override readonly name = 'ReadModelsBusyError';
  constructor(built: string, readonly why = 'another connection (a ledger command?) is reading them', message = `cannot put ${built} in place of the read models now: ${why}; try again`) {
    super(message);
  }
}

/** The read-model file this connection opened was deleted and nothing put at its path (ReadModelDb.followReplaced). */
export class ReadModelsGoneError extends Error {
  override readonly name = 'ReadModelsGoneError';
  constructor(file: string) {
    super(`the read-model file ${file} was deleted and nothing put in its place: this process's read models are no longer on disk, and what it projects is lost; restart it (it makes them again from the store)`);
  }
}

/** Another file put at the read models' path that is not a rebuild's (ReadModelDb.followReplaced): not opened, and why. */
export class ReadModelsNotFollowedError extends Error {
  override readonly name = 'ReadModelsNotFollowedError';
  constructor(file: string, why: string, remedy: string) {
    super(`another file was put at ${file} in place of the read models, and is not opened: ${why}; this process goes on with the replaced file, deleted but open, and what it projects is lost: ${remedy}`);
  }
}

/** The connection to the file a ReadModelDb is on, and what it knows of that file (every field open() sets; see followReplaced). */
interface OnFile {
  readonly database: Database.Database;
  /** The file this connection opened (its device and inode): another at the path is another process's swap (followReplaced). */
  readonly opened: fs.BigIntStats | undefined;
  /** That file's write-ahead log as this connection opened it (its -wal, beside it then): see followReplaced. */
  openedWal: fs.BigIntStats | undefined;
  /** A file at the path beside which this connection's -wal was still left at the last look (followReplaced refuses it at the next). */
  unfollowed: fs.BigIntStats | undefined;
}

/**
 * The read models' SQLite file and its one connection. The file is rebuildable from the store, so
 * it runs with `synchronous = NORMAL` (durability is the store's job). It can be swapped for a
 * file built elsewhere (`replaceWith`, the rebuild job's), after which every statement prepared
 * through `statements()` is prepared again on the new connection.
 */
export class ReadModelDb {
  /** The connection and what it knows of its file: one object, made whole by each open and put back whole when a follow's install fails. */
  private on!: OnFile;
  private parts: { sets: readonly TableSet[]; projected: () => boolean } | undefined;
  private followingSwap = false;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    try {
      // Read models this process cannot write (their mode or attributes, a read-only mount): SQLite opens them read-only without a
      // word, and every batch then failed, "attempt to write a readonly database" (until the seventeenth session; a followed swap's
      // file is refused likewise, in followReplaced).
      if (fs.existsSync(file)) {
        try {
          fs.accessSync(file, fs.constants.W_OK);
        } catch (err) {
          throw new Error(`this process cannot write them (${(err as Error).message})`);
        }
      }
      try {
        this.open();
      } catch (err) {
        // SQLite's "unable to open database file" for a file it cannot make, or beside which it cannot make the write-ahead log: said as it is.
        const why = directoryUnwritable(file, err);
        throw why ? new Error(`this process cannot write ${why}`) : err;
      }
    } catch (err) {
      throw Object.assign(err as Error, { file }); // which file SQLite could not open ("unable to open database file" names none)
    }
  }

  get db(): Database.Database {
    return this.on.database;
  }

  /**
   * Creates the tables of every set (now and each time the file is opened again); a set whose
   * tables were all missing from a file that already holds projected events (`projected()`) is
   * back-filled once.
   */
  install(sets: readonly TableSet[], projected: () => boolean): void {
    this.parts = { sets, projected };
    const make = (s: TableSet) => {
      this.db.exec(s.schema);
      s.upgrade?.(this.db);
    };
    const fresh = sets.filter((s) => s.backfill && s.tables.every((t) => !hasTable(this.db, t)));
    for (const s of sets) if (!fresh.includes(s)) make(s);
    // A set to back-fill is made with its rows in one transaction (after the others: `projected` reads the checkpoint's): made
    // without them (another connection's lock taken between), the next open found its tables and never filled them (until the
    // seventeenth session).
    if (fresh.length && projected()) this.db.transaction(() => fresh.forEach((s) => (make(s), s.backfill!()))).immediate();
    else fresh.forEach(make);
    this.createQueryIndexes(false);
    this.noteWal();
  }

  /** Statements prepared on the open connection, prepared again after the file is replaced. */
  statements<T>(make: (db: Database.Database) => T): () => T {
    let made: { db: Database.Database; value: T } | undefined;
    return () => {
      if (made?.db !== this.on.database) made = { db: this.on.database, value: make(this.on.database) };
      return made.value;
    };
  }

  /** Opens the file at the path (or takes `database`, opened on it by followReplaced, and `before`, the path's stat taken before that open). */
  private open(database?: Database.Database, before = this.stat()): void {
    // `before`: taken before the open, so that a swap in between makes the next look reopen once more, never miss it
    this.on = { database: database ?? new Database(this.file), opened: before ?? this.stat(), openedWal: undefined, unfollowed: undefined };
    this.db.pragma(`page_size = ${PAGE_SIZE}`); // for a new file: 170 -> 124 MB at 10^5 events (decision rows are ~2 KB)
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL'); // rebuildable from the store: durability is the store's job
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.followingSwap = database !== undefined;
    try {
      const parts = this.parts;
      const install = () => parts && this.install(parts.sets, parts.projected);
      // Following a swap, on a live event loop: another connection's lock (the swapping process's batch) is waited on LIVE_LOCK_WAIT_MS
      // at most, not busy_timeout's 5 s (until the seventeenth session, the back-fill's), and the follow tried again at the next look.
      if (this.followingSwap) this.waitAtMost(LIVE_LOCK_WAIT_MS, install);
      else install();
    } finally {
      this.followingSwap = false;
    }
  }

  /** Whether the open under way follows another process's swap (followReplaced): on a live event loop, so install's one-off work must not pause it. */
  get following(): boolean {
    return this.followingSwap;
  }

  /**
   * Keeps the -wal beside the file as this connection's, once there (a new file's comes with its
   * first write: install's tables): the log this connection holds open (from its first read) until it
   * closes, whose inode no other file can take meanwhile. Kept only if the path still holds the file
   * this connection opened (a swap since may have put another log there).
   */
  private noteWal(): void {
    if (this.on.openedWal || !this.on.opened) return;
    const wal = this.stat('-wal');
    if (wal && sameInode(this.stat(), this.on.opened)) this.on.openedWal = wal;
  }

  /** Its inode as a bigint: 64-bit inode numbers (XFS, btrfs, NFS) lose their low bits in a double, two files seeming one. */
  private stat(suffix = ''): fs.BigIntStats | undefined {
    return this.file === ':memory:' ? undefined : fs.statSync(`${this.file}${suffix}`, { bigint: true, throwIfNoEntry: false });
  }

  /**
   * Whether another process put another file at this path since this connection opened it (its
   * rebuild job's replaceWith: this connection is left on the replaced file, which nobody else
   * reads): if so, the file at the path is opened in its place (true). One stat: a poll's, and the
   * live projector's before each batch (not each event). A path with no file is a ReadModelsGoneError. Another file there that is not a
   * rebuild's is not opened (ReadModelsNotFollowedError, at each look, this connection staying on the
   * replaced file): one beside which this connection's own -wal is left (a swap removes it first:
   * SQLite would read that log's pages into the new file, and write them into it at a checkpoint),
   * one that is not read models (not a SQLite file; none of their tables; a checkpoint table not
   * theirs), one this process cannot write, or one whose install fails otherwise than on a lock.
   */
  followReplaced(): boolean {
    if (!this.on.opened) return false; // ':memory:'
    const now = this.stat();
    if (!now) throw new ReadModelsGoneError(this.file);
    if (sameInode(now, this.on.opened)) return (this.noteWal(), false);
    if (this.on.openedWal && sameInode(this.stat('-wal'), this.on.openedWal)) {
      // A swap's rename comes a moment before its removal of the log: refused only when the pair is still there at the next look
      // (found in review, 2026-11-27: 8 looks of 200 swaps refused in that moment, the message's remedy then removing a log in use).
      if (!sameInode(now, this.on.unfollowed ?? this.on.opened)) return (this.on.unfollowed = now), false;
      // Closing leaves it (SQLite neither checkpoints nor removes the log of a file moved away): a restart would open the file through it.
      throw new ReadModelsNotFollowedError(
        this.file,
        `this connection's write-ahead log ${this.file}-wal is still beside it (a rebuild's swap removes it), and SQLite would read that file through it (and write the log into it)`,
        `stop it, remove ${this.file}-wal and ${this.file}-shm (the replaced file's; read models are made again from the store), and start it`,
      );
    }
    let next: Database.Database | undefined;
    try {
      // Without waiting on a lock (busy_timeout would hold this event loop up to 5 s): a file locked now is looked at again at the next look.
      next = new Database(this.file, { timeout: 0 });
      const held = hasTable(next, 'checkpoint'); // not SQLite's: "file is not a database"
      // Every read-model file has its checkpoint (a rebuild's first write), with these columns in every build (event and event_position
      // were added later); one of another program, a table of a like name (users, checkpoint(x)) at most, refused before anything is
      // written (until the seventeenth session's review a foreign checkpoint table passed, and install made the read-model tables in
      // that file, and added columns to its table, before it failed).
      if (this.parts && !held) throw new Error('a SQLite file without their checkpoint table');
      if (this.parts) next.prepare('SELECT id, position, applied FROM checkpoint');
    } catch (err) {
      next?.close();
      if (isBusy(err)) return false;
      // Until 2026-11-28 (eighteenth session) read models in a directory this process cannot write, without their -wal, were said to
      // be "not read models (unable to open database file)": SQLite could not make the log beside them.
      const why = directoryUnwritable(this.file, err);
      if (why) throw new ReadModelsNotFollowedError(this.file, `this process cannot write ${why}`, 'mend what is said (the directory\'s owner, mode or attributes; the disk), or stop it, move that file away and start it (it makes them again from the store)');
      throw new ReadModelsNotFollowedError(this.file, `it is not read models (${(err as Error).message})`, 'put read models there (another API\'s POST /admin/rebuild), or stop it, move that file away and start it (it makes them again from the store)');
    }
    // Read models this process could not write (read-only: its mode or attributes, a read-only mount) are not followed: SQLite opens
    // such a file read-only without a word, and every batch would fail (until the seventeenth session's review they were followed).
    const notInstalled = (why: string) =>
      new ReadModelsNotFollowedError(this.file, why, 'mend what is said (the file\'s owner, mode or attributes; the disk), or stop it, move that file away and start it (it makes them again from the store)');
    try {
      fs.accessSync(this.file, fs.constants.W_OK);
    } catch (err) {
      next.close();
      throw notInstalled(`this process cannot write it (${(err as Error).message})`);
    }
    // The replaced file's connection is closed only once the new one is installed: an install that fails (another connection's
    // lock past LIVE_LOCK_WAIT_MS) leaves this process on it, as before the look, and the next look tries again. Until the
    // seventeenth session it was closed first and the new file kept as opened: a failed install was never tried again, and the
    // process ran on a file whose tables and back-fill were never made. One failing otherwise is refused, saying why, as another
    // kind of file is (until the seventeenth session's review SQLite's bare error, "retrying", at each look).
    const replaced = this.on;
    try {
      this.open(next, now);
    } catch (err) {
      next.close();
      this.on = replaced;
      if (isBusy(err)) return false;
      throw notInstalled(`it could not be installed (${(err as Error).message})`);
    }
    replaced.database.close();
    return true;
  }

  /** Runs `work` on this connection without waiting on another connection's lock: SQLITE_BUSY at once (busy_timeout would hold this event loop up to 5 s). */
  noWait<T>(work: () => T): T {
    return this.waitAtMost(0, work);
  }

  /**
   * Runs `work` on this connection without waiting on another connection's lock, as noWait; when
   * that lock is held (SQLITE_BUSY) `work` is not done, for a later open to do. For what an open
   * does that can wait: the query indexes it makes, an old index it drops (until 2026-11-27,
   * sixteenth session, the try and the catch were written out at each).
   */
  unlessBusy(work: () => void): void {
    try {
      this.noWait(work);
    } catch (err) {
      if (!isBusy(err)) throw err;
    }
  }

  /** Runs `work` on this connection waiting at most `ms` on another connection's lock (SQLITE_BUSY past it), not the 5 s it waits otherwise. */
  waitAtMost<T>(ms: number, work: () => T): T {
    const before = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${Math.min(ms, before)}`);
    try {
      return work();
    } finally {
      this.db.pragma(`busy_timeout = ${before}`); // what it was: a wait nested in another keeps the outer's
    }
  }

  /**
   * Puts read models built elsewhere (a rebuild job's file, closed and checkpointed) in place of
   * these: this database is closed, that file moved onto this one's path, and opened. The caller
   * stops the projector first and starts it after: it goes on from the new file's checkpoint. A
   * `built` that is not there is refused before this database is touched, and so is the swap while
   * another connection is reading this file (the WAL could not be checkpointed whole), or while the path holds another file than
   * this connection's (another process's swap it has not followed: ReadModelsBusyError, asked again); if the move
   * fails, the file at this path is opened again, so that the caller is never left with a closed
   * connection, with the WAL and index its other connections share.
   */
  replaceWith(built: string): void {
    if (!fs.statSync(built).isFile()) throw new Error(`cannot put ${built} in place of the read models: it is not a file`); // statSync throws ENOENT naming it
    // Another process's swap not yet followed (its file locked at the look): the checkpoint and the look for readers below would be
    // the replaced file's, and the file at the path, its log and its readers, passed by (found in the seventeenth session).
    const atPath = this.stat();
    if (atPath && this.on.opened && !sameInode(atPath, this.on.opened)) {
      throw new ReadModelsBusyError(built, `another file was put at ${this.file} (another process's swap) and this connection has not followed it yet`);
    }
    // Every commit into the file itself first, so that removing the WAL below loses nothing;
    // without waiting on a reader (busy_timeout would hold this event loop up to 5 s): refused then, to be asked again.
    const [{ busy }] = this.noWait(() => this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>);
    if (busy) throw new ReadModelsBusyError(built);
    this.db.close();
    try {
      fs.renameSync(built, this.file);
      // The log and its index belong to the file they were made for, and go only once it is replaced. Removed before a rename that
      // then failed, this connection opened that file again with a new log beside the one its other connections (another API) keep
      // writing, deleted: two logs for one file, each side's commits unseen by the other, and checkpointed over each other's pages.
      // Until they go, the new file stands beside the old log (emptied above, unless another connection committed since): a
      // process that opens the path in that instant pairs them, as one that opened it between a removal and the rename did.
      for (const suffix of ['-wal', '-shm']) fs.rmSync(`${this.file}${suffix}`, { force: true });
    } finally {
      this.open();
    }
  }

  /** Closes the database and checkpoints its WAL into the file, so that the file alone holds everything. */
  closeCheckpointed(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }

  /**
   * Runs `work` (a rebuild) without an fsync at each WAL checkpoint, then restores
   * `synchronous = NORMAL` and checkpoints the WAL into the database file with an fsync. If the
   * process dies meanwhile, the file stays consistent and the next catch-up goes on from its
   * checkpoint; only an operating-system crash or power loss during the rebuild can damage it, and
   * read models are rebuilt from the store in any case. At 10^6 events this takes a third off a
   * rebuild (measured: 43 s to 29 s).
   *
   * With `indexesAtEnd` (a rebuild into a file of its own, which the caller throws away if `work`
   * fails: rebuildInto), the sets' query indexes are dropped meanwhile and made once `work` has
   * succeeded, from the finished tables: a random key's index kept up row by row rewrote pages of
   * it in every batch's commit. Not for a file others may be reading: they would read without them.
   * With `memoryJournal` (such a file too), the file is in rollback mode with its journal in memory
   * meanwhile, not WAL: each page a commit writes is written once, into the file, not into the WAL
   * and again into the file at each checkpoint (the WAL is set back before the final fsync).
   */
  async bulk<T>(work: () => Promise<T>, { indexesAtEnd = false, memoryJournal = false }: { indexesAtEnd?: boolean; memoryJournal?: boolean } = {}): Promise<T> {
    this.db.pragma('synchronous = OFF');
    if (memoryJournal) this.db.pragma('journal_mode = MEMORY');
    if (indexesAtEnd) for (const { name } of queryIndexesOf(this.parts?.sets ?? [])) this.db.exec(`DROP INDEX IF EXISTS ${name}`);
    try {
      const result = await work();
      if (indexesAtEnd) this.createQueryIndexes(true);
      return result;
    } catch (err) {
      if (memoryJournal && this.db.inTransaction) this.db.exec('ROLLBACK'); // failed within a transaction it opened (the caller throws the file away): WAL cannot be set back within one
      throw err;
    } finally {
      this.db.pragma('synchronous = NORMAL');
      if (memoryJournal) this.db.pragma('journal_mode = WAL');
      this.db.pragma('wal_checkpoint(FULL)');
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * Makes the sets' query indexes that the file lacks; none lacking, it takes no write lock. At an
   * open (`wait` false) it does not wait for the lock either: when another connection holds it (a
   * `ledger rebuild` in place by earlier code held it for its whole run, an sqlite3 shell's BEGIN IMMEDIATE), the
   * file opens without them, as the queries need none (they are slower without), and a later open
   * makes them. Until 2026-11-27 (fourteenth session) an index new to the code made every open of an
   * older file take the lock, and one beside such a rebuild failed with SQLITE_BUSY after 5 s.
   */
  private createQueryIndexes(wait: boolean): void {
    const has = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?");
    const missing = queryIndexesOf(this.parts?.sets ?? []).filter(({ name }) => !has.get(name));
    if (missing.length === 0) return;
    const make = () => void this.db.exec(missing.map(({ sql }) => `${sql};`).join('\n'));
    if (wait) make();
    else this.unlessBusy(make);
  }
}

/**
 * For SQLite's failure to open `file` ("unable to open database file", SQLITE_CANTOPEN), the directory of the file when this
 * process cannot write it, and why (SQLite makes the file there, and its -wal and -shm, without which it cannot open a file in WAL
 * mode), or undefined. Any other failure (a foreign file: "file is not a database") is not the directory's: until the eighteenth
 * session's review it was said to be when the directory was unwritable too.
 */
function directoryUnwritable(file: string, failure: unknown): string | undefined {
  if ((failure as { code?: unknown }).code !== 'SQLITE_CANTOPEN') return undefined;
  const dir = path.dirname(path.resolve(file));
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return undefined;
  } catch (err) {
    return `its directory ${dir} (${(err as Error).message}), where SQLite makes ${fs.existsSync(file) ? 'its -wal and -shm' : 'the file and its -wal and -shm'}`;
  }
}

/**
 * Adds a column to a table made by earlier code (a TableSet's upgrade, at each open), when it lacks
 * it: `ALTER TABLE ... ADD COLUMN`, no rewrite of the table. Another process opening the same file
 * may add it between the look and this (two starting at once): tolerated.
 */
export function addColumn(db: Database.Database, table: string, column: string, type: string): void {
  if (db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column)) return;
  try {
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  } catch (err) {
    if (!(err as Error)?.message?.includes(`duplicate column name: ${column}`)) throw err;
  }
}

/** Whether the file `db` is open on holds a table of that name. */
export function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * The sets' query indexes, each statement with the index it makes: the one list that bulk drops and
 * createQueryIndexes makes (until 2026-11-27, sixteenth session, each read the text its own way: a
 * statement without its ';' was dropped by a rebuild and never made again). A statement that is
 * not `CREATE INDEX IF NOT EXISTS <name> ...` is refused, naming it (it was passed by unmade).
 */
function queryIndexesOf(sets: readonly TableSet[]): Array<{ name: string; sql: string }> {
  return sets.flatMap((s) =>
    (s.queryIndexes ?? '')
      .split(';')
      .map((sql) => sql.trim())
      .filter((sql) => sql !== '')
      .map((sql) => {
        const name = /^CREATE\s+INDEX\s+IF\s+NOT\s+EXISTS\s+(\w+)\s/i.exec(sql)?.[1];
        if (name === undefined) throw new Error(`a query index of the read models is not "CREATE INDEX IF NOT EXISTS <name> ON ...": ${sql}`);
        return { name, sql };
      }),
  );
}

/** A folded state kept as JSON in a table keyed by one column. */
export function loadState<S>(stmt: Database.Statement<[string], { state: string }>, key: string): S | undefined {
  const row = stmt.get(key);
  return row ? (JSON.parse(row.state) as S) : undefined;
}
