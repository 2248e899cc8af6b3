import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ReadModelDb } from '../read-model-db';
import { Checkpoint } from './checkpoint';

describe('Checkpoint', () => {
  let dir: string;
  let rm: ReadModelDb;
  let checkpoint: Checkpoint;
  /** Another connection to the same file: it changes the row without this Checkpoint's knowledge. */
  const behindItsBack = (position: string, applied: number) => {
    const other = new Database(rm.file);
    other.prepare('UPDATE checkpoint SET position = ?, applied = ? WHERE id = 1').run(position, applied);
    other.close();
  };

  /** A read-model file built elsewhere (a rebuild job's), its checkpoint at `position`. */
  const builtAt = (position: bigint) => {
    const built = path.join(dir, 'built.sqlite');
    const other = new ReadModelDb(built);
    const theirs = new Checkpoint(other);
    other.install([theirs], () => false);
    theirs.set(position, Number(position));
    other.closeCheckpointed();
    return built;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-checkpoint-'));
    rm = new ReadModelDb(path.join(dir, 'readmodels.sqlite'));
    checkpoint = new Checkpoint(rm);
    rm.install([checkpoint], () => false);
  });
  afterEach(() => {
    rm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the row once between writes: each reply asks for the position, a batch moves it', () => {
    expect(checkpoint.get()).toEqual({ position: undefined, applied: 0 });
    checkpoint.set(7n, 7);
    expect(checkpoint.get()).toEqual({ position: 7n, applied: 7 });
    behindItsBack('9', 9);
    expect(checkpoint.get()).toEqual({ position: 7n, applied: 7 }); // as read, not read again
    checkpoint.set(8n, 8);
    expect(checkpoint.get()).toEqual({ position: 8n, applied: 8 });
  });

  it('after a write in a transaction that rolls back, answers what the file holds', () => {
    checkpoint.set(5n, 5);
    expect(checkpoint.get().position).toBe(5n);
    expect(() =>
      rm.db.transaction(() => {
        checkpoint.set(6n, 6);
        throw new Error('a projection failed');
      })(),
    ).toThrow('a projection failed');
    expect(checkpoint.get()).toEqual({ position: 5n, applied: 5 });
    checkpoint.reset();
    expect(checkpoint.get()).toEqual({ position: undefined, applied: 0 });
  });

  it('reads the row again once the file is replaced (ReadModelDb.replaceWith)', () => {
    checkpoint.set(3n, 3);
    expect(checkpoint.get().position).toBe(3n);
    const built = builtAt(40n);
    rm.replaceWith(built);
    expect(checkpoint.get()).toEqual({ position: 40n, applied: 40 });
  });

  it('a file to put in place while another connection is reading the live one: refused before anything is touched; put in place once it is done', () => {
    checkpoint.set(3n, 3);
    const built = builtAt(40n);
    const reader = new Database(rm.file);
    reader.exec('BEGIN');
    reader.prepare('SELECT * FROM checkpoint').all();
    try {
      expect(() => rm.replaceWith(built)).toThrow(/another connection \(a ledger command\?\) is reading them; try again/);
      expect(checkpoint.fresh()).toEqual({ position: 3n, applied: 3 });
      expect(fs.existsSync(built)).toBe(true);
    } finally {
      reader.exec('COMMIT');
      reader.close();
    }
    rm.replaceWith(built);
    expect(checkpoint.get()).toEqual({ position: 40n, applied: 40 });
  }, 20_000);

  it("a file made before the checkpoint named its event: the column is added when it is opened, and the row reads as it was until the next batch", () => {
    const file = path.join(dir, 'old.sqlite');
    const old = new Database(file);
    old.exec('CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position TEXT, applied INTEGER NOT NULL); INSERT INTO checkpoint VALUES (1, \'12\', 12);');
    old.close();
    const upgraded = new ReadModelDb(file);
    const theirs = new Checkpoint(upgraded);
    upgraded.install([theirs], () => true);
    try {
      expect(theirs.get()).toEqual({ position: 12n, applied: 12 });
      theirs.set(13n, 13, 'e13');
      expect(theirs.fresh()).toEqual({ position: 13n, applied: 13, event: 'e13' });
    } finally {
      upgraded.close();
    }
  });

  it('a row moved on by code of before the event column (a rollback, an older ledger command) names no event: the id it left is of another position', () => {
    checkpoint.set(13n, 13, 'e13');
    behindItsBack('14', 14); // position and applied, the column left as it was
    expect(checkpoint.fresh()).toEqual({ position: 14n, applied: 14 });
    checkpoint.set(15n, 15, 'e15');
    expect(checkpoint.fresh()).toEqual({ position: 15n, applied: 15, event: 'e15' });
  });

  it('the row as the code of the morning of 2026-11-27 reads it (a rollback to it): `event` the plain id of the event at `position`', () => {
    checkpoint.set(15n, 15, 'e15');
    expect(rm.db.prepare('SELECT position, applied, event FROM checkpoint').get()).toEqual({ position: '15', applied: 15, event: 'e15' });
  });

  it('two processes opening a file made before the event column at once: the one that finds it added meanwhile opens it all the same', () => {
    const file = path.join(dir, 'old.sqlite');
    const old = new Database(file);
    old.exec("CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position TEXT, applied INTEGER NOT NULL); INSERT INTO checkpoint VALUES (1, '12', 12);");
    const db = new Database(file);
    // The other adds the column between this one's look and its ALTER TABLE.
    const racing = new Proxy(db, { get: (t, k) => (k === 'exec' ? (sql: string) => (old.exec(sql), t.exec(sql)) : Reflect.get(t, k)) });
    try {
      expect(() => new Checkpoint(rm).upgrade(racing)).not.toThrow();
      expect(db.prepare("SELECT count(*) n FROM pragma_table_info('checkpoint') WHERE name IN ('event', 'event_position')").get()).toEqual({ n: 2 });
    } finally {
      db.close();
      old.close();
    }
  });

  it("the move fails while another connection has the live file open (another API): this one opens that file again with the log they share, and each sees the other's commits (until 2026-11-27, fifteenth session, the log was removed before the move: two logs for one file)", () => {
    checkpoint.set(3n, 3);
    const built = builtAt(40n);
    const other = new ReadModelDb(rm.file);
    const theirs = new Checkpoint(other);
    other.install([theirs], () => false);
    const nodeFs = jest.requireActual<typeof fs>('node:fs');
    jest.spyOn(nodeFs, 'renameSync').mockImplementationOnce(() => {
      throw Object.assign(new Error(`EXDEV: cross-device link not permitted, rename '${built}' -> '${rm.file}'`), { code: 'EXDEV' });
    });
    try {
      expect(() => rm.replaceWith(built)).toThrow('EXDEV');
      theirs.set(4n, 4);
      expect(checkpoint.fresh()).toEqual({ position: 4n, applied: 4 });
      checkpoint.set(5n, 5);
      expect(theirs.fresh()).toEqual({ position: 5n, applied: 5 });
    } finally {
      jest.restoreAllMocks();
      other.close();
    }
  });

  it('a file to put in place that is not there: refused naming it, and the live read models go on as they were', () => {
    checkpoint.set(3n, 3);
    const missing = path.join(dir, 'gone.sqlite');
    expect(() => rm.replaceWith(missing)).toThrow(missing);
    expect(checkpoint.get()).toEqual({ position: 3n, applied: 3 });
    checkpoint.set(4n, 4);
    expect(checkpoint.fresh()).toEqual({ position: 4n, applied: 4 });
  });
});
