import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError, loadConfig } from './config';

describe('LEDGER_WHATIF_THREADS', () => {
  it('defaults to 1, takes 1 to 64, and refuses the rest naming the variable', () => {
    expect(loadConfig({}).whatIfThreads).toBe(1);
    expect(loadConfig({ LEDGER_WHATIF_THREADS: '1' }).whatIfThreads).toBe(1);
    expect(loadConfig({ LEDGER_WHATIF_THREADS: '3' }).whatIfThreads).toBe(3);
    for (const bad of ['0', '65', 'two', '1.5']) {
      expect(() => loadConfig({ LEDGER_WHATIF_THREADS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ LEDGER_WHATIF_THREADS: bad })).toThrow(/^LEDGER_WHATIF_THREADS must be a whole number from 1 to 64/);
    }
  });
});

describe('LEDGER_JOBS_NICE', () => {
  it('defaults to 10, takes 0 to 19, and refuses the rest naming the variable', () => {
    expect(loadConfig({}).jobsNice).toBe(10);
    expect(loadConfig({ LEDGER_JOBS_NICE: '0' }).jobsNice).toBe(0);
    expect(loadConfig({ LEDGER_JOBS_NICE: '19' }).jobsNice).toBe(19);
    for (const bad of ['-1', '20', 'low', '2.5']) expect(() => loadConfig({ LEDGER_JOBS_NICE: bad })).toThrow(/^LEDGER_JOBS_NICE must be a whole number from 0 to 19/);
  });
});

describe('paths, timeouts and origins that would be taken and then do something else', () => {
  it.each`
    variable                     | value                           | reason
    ${'LEDGER_SQLITE_PATH'}      | ${' '}                          | ${/^LEDGER_SQLITE_PATH must be a file path \(SQLite takes a blank name for a temporary database, gone at exit\), got ' '$/}
    ${'LEDGER_READMODEL_PATH'}   | ${'   '}                        | ${/^LEDGER_READMODEL_PATH must be a file path/}
    ${'LEDGER_SQLITE_PATH'}      | ${'.'}                          | ${/^LEDGER_SQLITE_PATH names a directory: it must be the database file, got '.'$/}
    ${'LEDGER_READMODEL_PATH'}   | ${'/tmp'}                       | ${/^LEDGER_READMODEL_PATH names a directory/}
    ${'LEDGER_STORE_TIMEOUT_MS'} | ${'2147483648'}                 | ${/^LEDGER_STORE_TIMEOUT_MS must be a whole number of milliseconds from 1 to 2147483647, got '2147483648'$/}
    ${'LEDGER_CORS_ORIGINS'}     | ${'http://a.example/,http://b.example'} | ${/^LEDGER_CORS_ORIGINS must be a comma-separated list of origins \(https:\/\/host\[:port\], no path/}
  `('$variable=$value is refused at start-up, naming it', ({ variable, value, reason }) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(reason);
  });

  it("a path under a file (where a directory must be) is refused naming that file (until the sixteenth session's final read, Node's EEXIST at the open)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-config-'));
    try {
      const file = path.join(dir, 'a-file');
      fs.writeFileSync(file, 'x');
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: path.join(file, 'ledger.sqlite') })).toThrow(`LEDGER_SQLITE_PATH cannot be made: ${file} is a file, not a directory, got '${path.join(file, 'ledger.sqlite')}'`);
      expect(() => loadConfig({ LEDGER_READMODEL_PATH: path.join(file, 'deeper', 'rm.sqlite') })).toThrow(`LEDGER_READMODEL_PATH cannot be made: ${file} is a file, not a directory`);
      // Derived, not given: on EventStoreDB, ./data/readmodels.sqlite, here under a file named data (until the sixteenth session's last read, EEXIST at the open).
      fs.writeFileSync(path.join(dir, 'data'), 'x');
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        expect(() => loadConfig({ LEDGER_STORE: 'esdb', EVENTSTORE_CONNECTION_STRING: 'esdb://localhost:2113?tls=false' })).toThrow(`LEDGER_READMODEL_PATH cannot be made: ${fs.realpathSync(path.join(dir, 'data'))} is a file, not a directory, got 'data/readmodels.sqlite'`);
      } finally {
        process.chdir(cwd);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes what is meant', () => {
    expect(loadConfig({ LEDGER_STORE_TIMEOUT_MS: '2147483647', LEDGER_CORS_ORIGINS: 'http://a.example:8080,https://b.example' })).toMatchObject({ corsOrigins: ['http://a.example:8080', 'https://b.example'] });
    expect(loadConfig({ LEDGER_SQLITE_PATH: '/tmp/not-there-yet/ledger.sqlite' }).store).toMatchObject({ path: '/tmp/not-there-yet/ledger.sqlite' });
  });
});

describe('a database path naming a file that is not SQLite', () => {
  it('stops start-up naming the variable and the file, before anything opens it; a SQLite file, an empty one or none is taken', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-config-'));
    try {
      const text = path.join(dir, 'notes.txt');
      fs.writeFileSync(text, 'not a database, but a file someone keeps');
      const db = path.join(dir, 'store.sqlite');
      new Database(db).exec('CREATE TABLE t (x)').close();
      fs.writeFileSync(path.join(dir, 'empty.sqlite'), '');
      // until 2026-11-27: "file is not a database" from SQLite once the app was half built, naming neither
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: text })).toThrow(`LEDGER_SQLITE_PATH names a file that is not a SQLite database (nothing was opened or written), got '${text}'`);
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: db, LEDGER_READMODEL_PATH: text })).toThrow(/^LEDGER_READMODEL_PATH names a file that is not a SQLite database/);
      fs.writeFileSync(path.join(dir, 'readmodels.sqlite'), 'SQLite format 2');
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: db })).toThrow(`LEDGER_READMODEL_PATH names a file that is not a SQLite database (nothing was opened or written), got '${path.join(dir, 'readmodels.sqlite')}'`);
      expect(fs.readFileSync(text, 'utf8')).toBe('not a database, but a file someone keeps');
      expect(loadConfig({ LEDGER_SQLITE_PATH: db, LEDGER_READMODEL_PATH: path.join(dir, 'empty.sqlite') }).store).toMatchObject({ path: db });
      expect(loadConfig({ LEDGER_SQLITE_PATH: path.join(dir, 'new.sqlite'), LEDGER_READMODEL_PATH: db }).readModelPath).toBe(db);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("LEDGER_READMODEL_PATH naming the store's own file", () => {
  it('stops start-up naming it (a rebuild would have moved the read models onto the store, the log lost), by its path or through a link', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-config-'));
    try {
      const store = path.join(dir, 'ledger.sqlite');
      const reason = /^LEDGER_READMODEL_PATH names the event store's own file \(LEDGER_SQLITE_PATH, or its -wal, -shm or -journal\): the read models need a file of their own, got '/;
      // until 2026-11-27 taken: the read models' tables went into the store, and POST /admin/rebuild replaced the store's file with them (no events table left)
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: store, LEDGER_READMODEL_PATH: store })).toThrow(reason);
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: store, LEDGER_READMODEL_PATH: path.join(dir, '.', 'x', '..', 'ledger.sqlite') })).toThrow(reason);
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: store, LEDGER_READMODEL_PATH: `${store}-wal` })).toThrow(reason); // its log: the read models would be made inside it
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: store, LEDGER_READMODEL_PATH: store.replace(/\.sqlite$/, '') + '.sqlite-shm' })).toThrow(reason);
      // before the store is made (a first start): through a linked directory, or a link to the file to be (until 2026-11-27 taken: names compared, inodes only of files there)
      fs.mkdirSync(path.join(dir, 'real'));
      fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'linked'));
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: path.join(dir, 'real', 'ledger.sqlite'), LEDGER_READMODEL_PATH: path.join(dir, 'linked', 'ledger.sqlite') })).toThrow(reason);
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: path.join(dir, 'linked', 'ledger.sqlite'), LEDGER_READMODEL_PATH: path.join(dir, 'real', 'ledger.sqlite-wal') })).toThrow(reason);
      fs.symlinkSync(path.join(dir, 'real', 'ledger.sqlite'), path.join(dir, 'to-be.sqlite'));
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: path.join(dir, 'real', 'ledger.sqlite'), LEDGER_READMODEL_PATH: path.join(dir, 'to-be.sqlite') })).toThrow(reason);
      expect(loadConfig({ LEDGER_SQLITE_PATH: path.join(dir, 'real', 'ledger.sqlite'), LEDGER_READMODEL_PATH: path.join(dir, 'linked', 'readmodels.sqlite') }).readModelPath).toBe(path.join(dir, 'linked', 'readmodels.sqlite'));
      // `..` after a link goes up from where the link leads, as the system opens it (review of 2026-11-27: compared by name, one was taken, the other refused)
      fs.mkdirSync(path.join(dir, 'c', 'd'), { recursive: true });
      fs.symlinkSync(path.join('..', '..', 'real'), path.join(dir, 'c', 'd', 'up'));
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: path.join(dir, 'ledger.sqlite'), LEDGER_READMODEL_PATH: `${dir}/c/d/up/../ledger.sqlite` })).toThrow(reason);
      expect(loadConfig({ LEDGER_SQLITE_PATH: path.join(dir, 'c', 'ledger.sqlite'), LEDGER_READMODEL_PATH: `${dir}/c/d/up/../ledger.sqlite` }).readModelPath).toBe(`${dir}/c/d/up/../ledger.sqlite`);
      // both in memory: two databases, not one file (refused for a few hours that day)
      expect(loadConfig({ LEDGER_SQLITE_PATH: ':memory:', LEDGER_READMODEL_PATH: ':memory:' }).readModelPath).toBe(':memory:');
      new Database(store).close();
      fs.symlinkSync(store, path.join(dir, 'link.sqlite'));
      expect(() => loadConfig({ LEDGER_SQLITE_PATH: store, LEDGER_READMODEL_PATH: path.join(dir, 'link.sqlite') })).toThrow(reason);
      expect(loadConfig({ LEDGER_SQLITE_PATH: store, LEDGER_READMODEL_PATH: path.join(dir, 'rm.sqlite') }).readModelPath).toBe(path.join(dir, 'rm.sqlite'));
      expect(loadConfig({ LEDGER_STORE: 'esdb', EVENTSTORE_CONNECTION_STRING: 'esdb://127.0.0.1:2113?tls=false', LEDGER_SQLITE_PATH: store, LEDGER_READMODEL_PATH: store }).readModelPath).toBe(store);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
