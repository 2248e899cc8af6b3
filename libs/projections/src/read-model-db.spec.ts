import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openReadModels } from './processor/projection-writer';
import { queriesOf } from './queries/queries-of';
import { DeviceProjection } from './projections/device-projection';
import { LIVE_LOCK_WAIT_MS, ReadModelDb } from './read-model-db';

/** The statement of an index in the file, read by a connection of its own (undefined: no such index). */
function indexSql(file: string, name: string): unknown {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").pluck().get(name);
  } finally {
    db.close();
  }
}

/**
 * Makes a file one this process cannot write, and returns what undoes it: its mode, and for root, whom a mode does not stop, the
 * immutable attribute (chattr +i, which ext4, XFS and btrfs have) as well.
 */
const root = process.getuid?.() === 0;

/** Why this machine cannot make a file its own root cannot write (no `chattr`, or a file system or container without the immutable attribute), or undefined. */
const cannotMakeUnwritable = ((): string | undefined => {
  if (!root) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-chattr-'));
  const file = path.join(dir, 'probe');
  fs.writeFileSync(file, '');
  try {
    execFileSync('chattr', ['+i', file], { stdio: 'pipe' });
    execFileSync('chattr', ['-i', file], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `running as root, and chattr +i fails here (${String((err as Error).message).split('\n')[0]})`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
if (cannotMakeUnwritable) console.warn(`read-model-db.spec: the unwritable read models' case is skipped: ${cannotMakeUnwritable}`);

function unwritable(file: string): () => void {
  const { mode } = fs.statSync(file);
  fs.chmodSync(file, mode & 0o555); // a directory keeps its x: its files can still be opened
  if (root) execFileSync('chattr', ['+i', file]);
  return () => {
    if (root) execFileSync('chattr', ['-i', file]);
    fs.chmodSync(file, mode);
  };
}

/** A rebuild into a file of its own (`bulk` with `memoryJournal`): the file is out of WAL while the work runs, and back in it after, whatever the end. */
describe('a bulk with its journal in memory', () => {
  let dir: string;
  let rm: ReadModelDb;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-rmdb-'));
    rm = new ReadModelDb(path.join(dir, 'rm.sqlite'));
    rm.db.exec('CREATE TABLE t (x INTEGER)');
  });
  afterEach(() => {
    rm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const mode = () => rm.db.pragma('journal_mode', { simple: true });

  it('runs the work in rollback mode with the journal in memory, then sets WAL back, its rows in the file', async () => {
    const during = await rm.bulk(
      async () => {
        rm.db.exec('BEGIN; INSERT INTO t VALUES (1); SAVEPOINT s; INSERT INTO t VALUES (2); ROLLBACK TO s; RELEASE s; COMMIT');
        return mode();
      },
      { memoryJournal: true },
    );
    expect([during, mode(), rm.db.prepare('SELECT x FROM t').pluck().all()]).toEqual(['memory', 'wal', [1]]);
    expect(fs.readFileSync(rm.file).subarray(18, 20)).toEqual(Buffer.from([2, 2])); // the file's header says WAL
  });

  it('a work that fails inside a transaction it opened has it rolled back, and WAL set back', async () => {
    await expect(
      rm.bulk(
        async () => {
          rm.db.exec('BEGIN; INSERT INTO t VALUES (1)');
          throw new Error('failed');
        },
        { memoryJournal: true },
      ),
    ).rejects.toThrow('failed');
    expect([rm.db.inTransaction, mode(), rm.db.prepare('SELECT count(*) FROM t').pluck().get()]).toEqual([false, 'wal', 0]);
  });

  it('without it, the work runs in WAL', async () => {
    expect(await rm.bulk(async () => mode())).toBe('wal');
  });
});

describe("a rebuild's query indexes (bulk with indexesAtEnd)", () => {
  let dir: string;
  let rm: ReadModelDb;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-rmdb-indexes-'));
    rm = new ReadModelDb(path.join(dir, 'rm.sqlite'));
  });
  afterEach(() => {
    rm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const indexes = () => rm.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").pluck().all();

  it("are made again at its end, a statement without its ';' too (until 2026-11-27, sixteenth session, the drop found it and the make did not: gone for good)", async () => {
    rm.install([{ schema: 'CREATE TABLE IF NOT EXISTS t (x, y)', tables: ['t'], queryIndexes: 'CREATE INDEX IF NOT EXISTS t_x ON t (x); CREATE INDEX IF NOT EXISTS t_y ON t (y)' }], () => false);
    expect(indexes()).toEqual(['t_x', 't_y']);
    const during = await rm.bulk(async () => indexes(), { indexesAtEnd: true });
    expect([during, indexes()]).toEqual([[], ['t_x', 't_y']]);
  });

  it('a statement that is not CREATE INDEX IF NOT EXISTS is refused, naming it, not passed by unmade', () => {
    expect(() => rm.install([{ schema: 'CREATE TABLE IF NOT EXISTS t (x)', tables: ['t'], queryIndexes: 'CREATE UNIQUE INDEX t_x ON t (x);' }], () => false)).toThrow(
      'a query index of the read models is not "CREATE INDEX IF NOT EXISTS <name> ON ...": CREATE UNIQUE INDEX t_x ON t (x)',
    );
  });
});

describe('opening read models that another connection is writing (a `ledger rebuild` in place holds the write lock for its whole run)', () => {
  it('takes no write lock when there is nothing to make: the file opens beside the lock (until 2026-11-27 the chain check took it at every open, and an API or CLI command starting then failed after 5 s)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-rmdb-open-'));
    const file = path.join(dir, 'rm.sqlite');
    try {
      openReadModels(file).db.close();
      const rebuild = new Database(file);
      rebuild.pragma('busy_timeout = 0');
      rebuild.exec('BEGIN IMMEDIATE');
      try {
        const opened = openReadModels(file);
        opened.db.close();
      } finally {
        rebuild.exec('ROLLBACK');
        rebuild.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes no missing query index while the lock is held: the file opens without it, and a later open makes it (until 2026-11-27, fourteenth session, read models made before an index was added failed to open beside the lock, SQLITE_BUSY after 5 s)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-rmdb-open-'));
    const file = path.join(dir, 'rm.sqlite');
    const added = ['chain_breaks_position', 'stored_text_mismatches_position', 'missing_positions_from', 'decisions_device'];
    const indexes = () => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (?, ?, ?, ?) ORDER BY name").pluck().all(...added);
      } finally {
        db.close();
      }
    };
    try {
      openReadModels(file).db.close();
      const older = new Database(file);
      for (const name of added) older.exec(`DROP INDEX ${name}`); // as code made before them left the file
      older.close();
      const rebuild = new Database(file);
      rebuild.pragma('busy_timeout = 0');
      rebuild.exec('BEGIN IMMEDIATE');
      try {
        const opened = openReadModels(file);
        expect(queriesOf(opened).integrity.incrementalVerification()).toEqual(expect.objectContaining({ ok: true, breakCount: 0, missingCount: 0 }));
        opened.db.close();
        expect(indexes()).toEqual([]);
      } finally {
        rebuild.exec('ROLLBACK');
        rebuild.close();
      }
      openReadModels(file).db.close();
      expect(indexes()).toEqual([...added].sort());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it("drops no old meter-point index while the lock is held: the file opens with it, and a later open drops it and makes the new one (until 2026-11-27, sixteenth session, such a file failed to open beside the lock, SQLITE_BUSY after 5 s)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-rmdb-open-'));
    const file = path.join(dir, 'rm.sqlite');
    const sql = () => indexSql(file, 'devices_mpxn');
    try {
      openReadModels(file).db.close();
      const older = new Database(file);
      older.exec('DROP INDEX devices_mpxn; CREATE INDEX devices_mpxn ON devices (mpxn)'); // as code made before it held the device id left the file
      older.close();
      const rebuild = new Database(file);
      rebuild.pragma('busy_timeout = 0');
      rebuild.exec('BEGIN IMMEDIATE');
      try {
        openReadModels(file).db.close();
        expect(sql()).toBe('CREATE INDEX devices_mpxn ON devices (mpxn)');
      } finally {
        rebuild.exec('ROLLBACK');
        rebuild.close();
      }
      openReadModels(file).db.close();
      expect(sql()).toBe('CREATE INDEX devices_mpxn ON devices (mpxn, device_id)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it('an old meter-point index is dropped and made again in one transaction (DeviceProjection.upgrade): a lock another connection takes just after leaves the file with the new index (until the seventeenth session the drop came alone, and the index was missing until a later open)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-rmdb-mpxn-'));
    const file = path.join(dir, 'rm.sqlite');
    const sql = (name: string) => indexSql(file, name);
    try {
      openReadModels(file).db.close();
      const older = new Database(file);
      older.exec('DROP INDEX devices_mpxn; CREATE INDEX devices_mpxn ON devices (mpxn); DROP INDEX inventory_history_mpxn; CREATE INDEX inventory_history_mpxn ON inventory_history (mpxn)'); // as code made before they held the device id left the file
      const rm = new ReadModelDb(file);
      // Another connection takes the write lock once the devices' upgrade is done, before the query indexes are made.
      rm.install([new DeviceProjection(rm), { schema: '', tables: [], upgrade: () => older.exec('BEGIN IMMEDIATE') }], () => false);
      try {
        expect([sql('devices_mpxn'), sql('inventory_history_mpxn')]).toEqual(['CREATE INDEX devices_mpxn ON devices (mpxn, device_id)', 'CREATE INDEX inventory_history_mpxn ON inventory_history (mpxn, device_id)']);
      } finally {
        older.exec('ROLLBACK');
        older.close();
        rm.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("following another process's swap of the read-model file (followReplaced)", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-rmdb-follow-'))));
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const notOpened = (file: string, why: string, remedy: string) =>
    `another file was put at ${file} in place of the read models, and is not opened: ${why}; this process goes on with the replaced file, deleted but open, and what it projects is lost: ${remedy}`;
  const notReadModels = (file: string, what: string) => notOpened(file, `it is not read models (${what})`, "put read models there (another API's POST /admin/rebuild), or stop it, move that file away and start it (it makes them again from the store)");
  const text = 'not a database at all: some other program wrote this file\n'.repeat(100);
  /** Read models at `file`, and beside them (built.sqlite) read models rebuilt through position 30, closed, as another process's rebuild leaves them. */
  const liveAndRebuilt = (file: string) => {
    const built = openReadModels(path.join(dir, 'built.sqlite'));
    built.checkpoint.set(30n, 30, 'e30');
    built.db.closeCheckpointed();
    return openReadModels(file);
  };

  /**
   * Read models rebuilt and swapped in at `file` (no -wal left beside it), `unwritableOne` (the file, or its directory) made one this
   * process cannot write while `check` looks; this process stays on the replaced file, and the file is left as it was.
   */
  const swappedUnwritable = (file: string, unwritableOne: string, check: (rm: ReturnType<typeof openReadModels>) => void, swappedIn = path.join(dir, 'built.sqlite')) => {
    const rm = liveAndRebuilt(file);
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
    fs.renameSync(swappedIn, file);
    const before = fs.readFileSync(file);
    const undo = unwritable(unwritableOne);
    try {
      check(rm);
      expect(rm.checkpoint.fresh().position).toBeUndefined(); // from the replaced file, still open
    } finally {
      undo();
      rm.db.close();
    }
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  };

  it("another kind of file renamed onto the path, this connection's -wal left beside it: not opened (until 2026-11-27, fifteenth session, it was, with that log: answered from it, and the file made a SQLite file at close); at close the file is as it was, and, the -wal removed as said, a start says what it is", () => {
    const file = path.join(dir, 'rm.sqlite');
    const rm = openReadModels(file);
    rm.checkpoint.set(76n, 76, 'e76');
    fs.writeFileSync(path.join(dir, 'other.txt'), text);
    fs.renameSync(path.join(dir, 'other.txt'), file);
    try {
      const said = notOpened(file, `this connection's write-ahead log ${file}-wal is still beside it (a rebuild's swap removes it), and SQLite would read that file through it (and write the log into it)`, `stop it, remove ${file}-wal and ${file}-shm (the replaced file's; read models are made again from the store), and start it`);
      // The first look waits for the next: a swap renames its file a moment before it removes the log (until 2026-11-27, fifteenth
      // session's review, refused at once, the remedy then removing a log another API was using).
      expect(rm.db.followReplaced()).toBe(false);
      for (let look = 0; look < 2; look++) expect(() => rm.db.followReplaced()).toThrow(said);
      expect(rm.checkpoint.fresh().position).toBe(76n); // from the replaced file, still open
    } finally {
      rm.db.close();
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`);
    expect(() => new ReadModelDb(file)).toThrow('file is not a database');
  });

  it("a file put at the path with no -wal left beside it that is not read models: not opened, saying why (not a SQLite file; a SQLite file without their checkpoint table, though it has a table of a like name: until the fifteenth session's review such a file was opened and their tables made in it; a directory)", () => {
    const file = path.join(dir, 'rm.sqlite');
    const rm = openReadModels(file);
    const put = (name: string) => {
      for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
      fs.renameSync(path.join(dir, name), file);
    };
    try {
      fs.writeFileSync(path.join(dir, 'other.txt'), text);
      put('other.txt');
      expect(() => rm.db.followReplaced()).toThrow(notReadModels(file, 'file is not a database'));
      const other = new Database(path.join(dir, 'other.sqlite'));
      other.exec('CREATE TABLE users (x INTEGER)'); // another program's users
      other.close();
      put('other.sqlite');
      expect(() => rm.db.followReplaced()).toThrow(notReadModels(file, 'a SQLite file without their checkpoint table'));
      const atPath = new Database(file, { readonly: true });
      expect(atPath.prepare('SELECT name FROM sqlite_master').pluck().all()).toEqual(['users']); // nothing made in it
      atPath.close();
      fs.rmSync(file);
      fs.mkdirSync(file);
      expect(() => rm.db.followReplaced()).toThrow(notReadModels(file, 'unable to open database file'));
    } finally {
      rm.db.close();
    }
  });

  it("read models put at the path while another connection holds their file's lock: not waited on (the API's event loop), looked at again at the next look, then followed (until the fifteenth session's review each look waited the 5 s busy timeout and refused them as not read models)", () => {
    const file = path.join(dir, 'rm.sqlite');
    const rm = liveAndRebuilt(file);
    const locker = new Database(path.join(dir, 'built.sqlite'));
    try {
      locker.pragma('journal_mode = DELETE'); // a rollback journal: an exclusive lock keeps every other connection out, readers too
      locker.exec('BEGIN EXCLUSIVE');
      for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
      fs.renameSync(path.join(dir, 'built.sqlite'), file);
      expect(rm.db.followReplaced()).toBe(false);
      locker.exec('ROLLBACK');
      expect(rm.db.followReplaced()).toBe(true);
      expect(rm.checkpoint.fresh().position).toBe(30n);
    } finally {
      locker.close();
      rm.db.close();
    }
  });

  it("an open that follows another process's swap says so to what it installs (`following`: the stuck rows' one-off upgrade then does not pause the live event loop), an open at start-up does not", () => {
    const file = path.join(dir, 'rm.sqlite');
    const rm = new ReadModelDb(file);
    const seen: boolean[] = [];
    rm.install([{ schema: 'CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY, position TEXT, applied INTEGER)', tables: ['checkpoint'], upgrade: () => seen.push(rm.following) }], () => false);
    const other = new ReadModelDb(path.join(dir, 'built.sqlite'));
    other.db.exec('CREATE TABLE checkpoint (id INTEGER PRIMARY KEY, position TEXT, applied INTEGER)');
    other.closeCheckpointed();
    try {
      for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
      fs.renameSync(path.join(dir, 'built.sqlite'), file);
      expect(rm.followReplaced()).toBe(true);
      expect(seen).toEqual([false, true]);
      expect(rm.following).toBe(false);
    } finally {
      rm.close();
    }
  });

  /**
   * The file at the path, and read models as another process's rebuild swaps in: `which` says which file a connection is on; `late`
   * (back-filled: its tables missing from the swapped-in file, as from an older build's) and `later` (whose upgrade lets another
   * connection take the write lock once `grab` is set: between the making of late's tables and its back-fill, as the code before
   * the seventeenth session ordered them).
   */
  function swapped(file: string, alsoInBuilt = '') {
    const rm = new ReadModelDb(file);
    rm.db.exec("CREATE TABLE which (name TEXT); INSERT INTO which VALUES ('old')");
    const timeouts: number[] = [];
    let grab: (() => void) | undefined;
    const sets = [
      { schema: 'CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY, position TEXT, applied INTEGER)', tables: ['checkpoint'] },
      {
        schema: 'CREATE TABLE IF NOT EXISTS late (x INTEGER)',
        tables: ['late'],
        backfill: () => {
          timeouts.push(rm.db.pragma('busy_timeout', { simple: true }) as number);
          rm.db.exec('INSERT INTO late VALUES (1)');
        },
      },
      { schema: 'CREATE TABLE IF NOT EXISTS later (x INTEGER)', tables: ['later'], upgrade: () => (grab?.(), (grab = undefined)) },
    ];
    rm.install(sets, () => true);
    const built = new Database(path.join(dir, 'built.sqlite'));
    built.pragma('journal_mode = WAL'); // as a rebuild leaves it
    built.exec("CREATE TABLE which (name TEXT); INSERT INTO which VALUES ('new'); CREATE TABLE checkpoint (id INTEGER PRIMARY KEY, position TEXT, applied INTEGER); CREATE TABLE later (x INTEGER)");
    if (alsoInBuilt) built.exec(alsoInBuilt);
    built.close();
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
    fs.renameSync(path.join(dir, 'built.sqlite'), file);
    const other = new Database(file); // another process on the swapped-in file (the API that swapped it in)
    other.pragma('busy_timeout = 0');
    return {
      rm,
      timeouts,
      other,
      grabLater: () => (grab = () => other.exec('BEGIN IMMEDIATE')),
      on: () => rm.db.prepare('SELECT name FROM which').pluck().get(),
      late: () => rm.db.prepare('SELECT x FROM late').pluck().all(),
    };
  }

  it("read models swapped in whose back-fill cannot have the write lock (another process's batch holds it): this process stays on the replaced file, open, and the next look follows them, back-filled (until the seventeenth session the replaced file's connection was closed first and the new file kept as followed: never installed again)", () => {
    const { rm, other, on, late } = swapped(path.join(dir, 'rm.sqlite'));
    try {
      other.exec('BEGIN IMMEDIATE');
      expect(rm.followReplaced()).toBe(false);
      expect([on(), rm.following]).toEqual(['old', false]); // still answering, from the replaced file
      other.exec('ROLLBACK');
      expect(rm.followReplaced()).toBe(true);
      expect([on(), late()]).toEqual(['new', [1]]);
      expect(rm.followReplaced()).toBe(false);
    } finally {
      other.close();
      rm.close();
    }
  });

  it("a back-filled set's tables are made with its rows, in one transaction: another process's lock taken between them leaves neither, and the next look makes both (until the seventeenth session the tables stayed made, empty, and were never back-filled)", () => {
    const { rm, other, grabLater, on, late } = swapped(path.join(dir, 'rm.sqlite'));
    try {
      grabLater();
      expect(rm.followReplaced()).toBe(false);
      expect(on()).toBe('old');
      other.exec('ROLLBACK');
      expect(rm.followReplaced()).toBe(true);
      expect([on(), late()]).toEqual(['new', [1]]);
    } finally {
      other.close();
      rm.close();
    }
  });

  it(`an install that follows a swap waits on another connection's lock LIVE_LOCK_WAIT_MS (${LIVE_LOCK_WAIT_MS} ms) at most, on the live event loop, its back-fill too (until the seventeenth session, busy_timeout's 5 s); an open at start-up waits busy_timeout`, () => {
    const { rm, timeouts, other } = swapped(path.join(dir, 'rm.sqlite'));
    try {
      expect(rm.followReplaced()).toBe(true);
      expect(timeouts).toEqual([5000, LIVE_LOCK_WAIT_MS]);
      expect(rm.db.pragma('busy_timeout', { simple: true })).toBe(5000); // as it was once the install is done
    } finally {
      other.close();
      rm.close();
    }
  });

  it("read models swapped in whose install fails otherwise than on a lock: not followed, saying why, and this process stays on the replaced file (until the seventeenth session's review SQLite's bare error, logged as 'retrying', at each look)", () => {
    const file = path.join(dir, 'rm.sqlite');
    const { rm, other, on } = swapped(file, 'CREATE INDEX late ON which (name)'); // a name the back-filled set's table cannot take
    try {
      const said = notOpened(file, 'it could not be installed (there is already an index named late)', "mend what is said (the file's owner, mode or attributes; the disk), or stop it, move that file away and start it (it makes them again from the store)");
      for (let look = 0; look < 2; look++) expect(() => rm.followReplaced()).toThrow(said);
      expect(on()).toBe('old');
    } finally {
      other.close();
      rm.close();
    }
  });

  (cannotMakeUnwritable ? it.skip : it)("read models this process cannot write, at their open: refused, naming the file, and left as they were (until the seventeenth session SQLite opened them read-only unsaid, and every batch failed)", () => {
    const file = path.join(dir, 'ro.sqlite');
    openReadModels(file).db.close();
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
    const before = fs.readFileSync(file);
    const undo = unwritable(file);
    try {
      expect(() => new ReadModelDb(file)).toThrow(expect.objectContaining({ file, message: expect.stringMatching(/^this process cannot write them \((EACCES|EPERM)/) }));
    } finally {
      undo();
    }
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  (cannotMakeUnwritable ? it.skip : it)("read models swapped in that this process cannot write (read-only: mode, attributes): not followed, saying why (until the seventeenth session's review they were, SQLite opening them read-only unsaid, and every batch failed), and left as they were", () => {
    const file = path.join(dir, 'rm.sqlite');
    swappedUnwritable(file, file, (rm) => {
      for (let look = 0; look < 2; look++) expect(() => rm.db.followReplaced()).toThrow(`another file was put at ${file} in place of the read models, and is not opened: this process cannot write it (`);
    });
  });

  (cannotMakeUnwritable ? it.skip : it)("read models without their -wal in a directory this process cannot write: refused saying so, at their open and when swapped in, not as \"not read models\" (until 2026-11-28, eighteenth session, \"it is not read models (unable to open database file)\", and at the open SQLite's words alone)", () => {
    const file = path.join(dir, 'rm.sqlite');
    swappedUnwritable(file, dir, (rm) => {
      const why = `this process cannot write its directory ${dir} (`;
      for (let look = 0; look < 2; look++) expect(() => rm.db.followReplaced()).toThrow(`another file was put at ${file} in place of the read models, and is not opened: ${why}`);
      expect(() => rm.db.followReplaced()).toThrow(/\), where SQLite makes its -wal and -shm; .*mend what is said \(the directory's owner, mode or attributes; the disk\)/);
      expect(() => new ReadModelDb(file)).toThrow(expect.objectContaining({ file, message: expect.stringMatching(new RegExp(`^${why.replace(/[()]/g, '\\$&')}(EACCES|EPERM).*\\), where SQLite makes its -wal and -shm$`)) }));
    });
  });

  (cannotMakeUnwritable ? it.skip : it)("in a directory this process cannot write, another kind of file is said to be not read models, and a file not made yet is said to need the directory for the file itself (until the eighteenth session's review both were said to lack the directory for the write-ahead log)", () => {
    const file = path.join(dir, 'rm.sqlite');
    const foreign = path.join(dir, 'foreign.txt');
    fs.writeFileSync(foreign, text);
    swappedUnwritable(file, dir, (rm) => {
      expect(() => rm.db.followReplaced()).toThrow(notReadModels(file, 'file is not a database'));
      expect(() => new ReadModelDb(file)).toThrow(expect.objectContaining({ file, message: 'file is not a database' }));
      const none = path.join(dir, 'none.sqlite');
      expect(() => new ReadModelDb(none)).toThrow(expect.objectContaining({ file: none, message: expect.stringMatching(new RegExp(`^this process cannot write its directory ${dir} \\((EACCES|EPERM).*\\), where SQLite makes the file and its -wal and -shm$`)) }));
    }, foreign);
  });

  it("another program's SQLite file with a table named checkpoint, not theirs: not opened, and not written (until the seventeenth session's review the read-model tables were made in it, and columns added to its table, before the install failed)", () => {
    const file = path.join(dir, 'rm.sqlite');
    const rm = openReadModels(file);
    const foreign = new Database(path.join(dir, 'other.sqlite'));
    foreign.exec("CREATE TABLE checkpoint (x TEXT); INSERT INTO checkpoint VALUES ('another program')");
    foreign.close();
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
    fs.renameSync(path.join(dir, 'other.sqlite'), file);
    const before = fs.readFileSync(file);
    try {
      for (let look = 0; look < 2; look++) expect(() => rm.db.followReplaced()).toThrow(notReadModels(file, 'no such column: id'));
    } finally {
      rm.db.close();
    }
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['rm.sqlite']);
  });

  it('compares inode numbers whole: two past 2^53 (XFS, btrfs, NFS have such) that differ in their low bits are two files', () => {
    const file = path.join(dir, 'rm.sqlite');
    let ino = 2n ** 60n; // the file's, and its -wal's (ino + 2)
    const nodeFs = jest.requireActual<typeof fs>('node:fs');
    const statSync = nodeFs.statSync.bind(nodeFs);
    jest.spyOn(nodeFs, 'statSync').mockImplementation(((p: fs.PathLike, options?: fs.StatSyncOptions) => {
      const real = statSync(p, options);
      const given = p === file ? ino : p === `${file}-wal` ? ino + 2n : undefined;
      if (given === undefined || !real) return real;
      return Object.assign(real, { ino: options?.bigint ? given : Number(given) }); // as the file system gives it: a double loses what a bigint keeps
    }) as typeof fs.statSync);
    const rm = new ReadModelDb(file);
    try {
      expect(rm.followReplaced()).toBe(false);
      ino += 1n; // another file at the path (and another -wal beside it)
      expect(rm.followReplaced()).toBe(true);
    } finally {
      rm.close();
    }
  });
});
