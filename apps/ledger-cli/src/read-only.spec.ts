import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { EMPTY_SHA256, hashOf, headerMode, storeHashes as files } from '@ledger/event-store/testing/file-hashes';
import { Ledger } from '@ledger/ledger';

/**
 * An auditor's read of an evidence copy of a SQLite store changes nothing in it: every command
 * that only reads the store, run by the built CLI (`npm run build` first) on a copy with a -wal
 * (frames the file does not hold yet), on one in WAL mode without one, and on one in
 * rollback-journal mode (a VACUUM INTO copy), leaves the file and the -wal byte-identical (SHA-256)
 * and reads what the -wal holds. Until 2026-11-28 (eighteenth session) the read folded the -wal
 * into the file and removed it, set a rollback-journal copy to WAL mode, and verify, digest and
 * what-if made read models (readmodels.sqlite) in the copy's directory.
 */

const bin = path.join(__dirname, '..', '..', '..', 'bin', 'ledger.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-evidence-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const ledger = (file: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, LEDGER_SQLITE_PATH: file, ...env }, encoding: 'utf8', timeout: 100_000 });

/** The commands that only read the store; verify, digest and what-if read nothing else (no read models). */
const STORE_ONLY = [['verify', '--json'], ['verify', '--all', '--json'], ['digest', '--json'], ['what-if', '--rule-set', 'registered-operator', '--json']];
const withReadModels = (requestId: string) => [['replay', requestId, '--json'], ['report', 'stuck-devices', '--json'], ['report', 'proxy-disagreements', '--json'], ['history', '00-DB-00-00-00-01-00-01', '--json'], ['rebuild', '--json']];

describe('an evidence copy read by the CLI', () => {
  const source = path.join(dir, 'live', 'ledger.sqlite');
  let requestId: string;
  let events: number;

  beforeAll(async () => {
    fs.mkdirSync(path.dirname(source));
    expect(ledger(source, ['demo', '--devices', '3']).status).toBe(0);
    const db = new Database(source, { readonly: true });
    const decision = db.prepare<[], { stream: string; data: string }>("SELECT stream, data FROM events WHERE type = 'ServiceRequestEvaluated' LIMIT 1").get()!;
    requestId = (JSON.parse(decision.data) as { requestId: string }).requestId.replace('::', `:${decision.stream.slice('device-'.length)}:`);
    db.close();
    // Without a -wal (every connection closed), in WAL mode; and in rollback-journal mode.
    fs.mkdirSync(path.join(dir, 'no-wal'));
    fs.copyFileSync(source, path.join(dir, 'no-wal', 'ledger.sqlite'));
    fs.mkdirSync(path.join(dir, 'rollback'));
    const reader = new Database(source, { readonly: true });
    reader.exec(`VACUUM INTO '${path.join(dir, 'rollback', 'ledger.sqlite')}'`);
    reader.close();
    // With a -wal: five more events written while another connection holds the file open (as the API does), so that
    // the writer's close folds nothing into the file; the copy taken then.
    const holder = new Database(source);
    holder.prepare('SELECT count(*) FROM events').get(); // a read: it holds the file (in WAL mode) from now until its close
    const store = new SqliteEventStore(source, { writer: 'inline' });
    for (const [i, role] of ['ED', 'GT', 'IS', 'ES', 'GS'].entries()) await new Ledger(store, getRuleSet('baseline')).registerUserRole({ userId: `90-B3-D5-1F-30-09-00-0${i}`, role, effectiveFrom: '2019-01-01' }, { actor: 'test' });
    await store.dispose();
    fs.mkdirSync(path.join(dir, 'wal'));
    for (const suffix of ['', '-wal']) fs.copyFileSync(source + suffix, path.join(dir, 'wal', `ledger.sqlite${suffix}`));
    events = Number(holder.prepare('SELECT count(*) FROM events').pluck().get());
    holder.close();
  }, 120_000);

  it.each([
    ['with a -wal', 'wal'],
    ['in WAL mode without a -wal', 'no-wal'],
    ['in rollback-journal mode', 'rollback'],
  ])('%s: every command that only reads leaves the file and the -wal byte-identical, and reads what the -wal holds', (_, name) => {
    const file = path.join(dir, name, 'ledger.sqlite');
    const before = files(file);
    const mode = headerMode(file);
    expect(mode).toEqual(name === 'rollback' ? [1, 1] : [2, 2]);
    if (name === 'wal') expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
    const unchanged = { file: before.file, wal: name === 'wal' ? before.wal : name === 'no-wal' ? EMPTY_SHA256 : 'absent' };
    for (const args of STORE_ONLY) {
      const run = ledger(file, args, { LEDGER_WHATIF_THREADS: '2' });
      expect([args, run.status, run.stderr]).toEqual([args, 0, '']);
      expect([args, files(file), headerMode(file)]).toEqual([args, unchanged, mode]);
    }
    // verify and digest read the -wal's events too (events: the source's, the -wal's five among them)
    const verified = JSON.parse(ledger(file, ['verify', '--json']).stdout) as { ok: boolean; eventsChecked: number };
    expect(verified).toMatchObject({ ok: true, eventsChecked: name === 'wal' ? events : events - 5 });
    expect(fs.readdirSync(path.dirname(file)).filter((f) => !f.startsWith('ledger.sqlite'))).toEqual([]); // no read models made beside it
    // The read models of the others made elsewhere: the copy's directory is the auditor's evidence.
    const readModels = path.join(dir, `${name}-readmodels.sqlite`);
    for (const args of withReadModels(requestId)) {
      const run = ledger(file, args, { LEDGER_READMODEL_PATH: readModels });
      expect([args, run.status]).toEqual([args, 0]);
    }
    expect([files(file), headerMode(file)]).toEqual([unchanged, mode]);
    // SQLite's own: a -shm for a file in WAL mode (its readers' index of the -wal), and an empty -wal where there was none; none for rollback.
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(name === 'rollback' ? ['ledger.sqlite'] : ['ledger.sqlite', 'ledger.sqlite-shm', 'ledger.sqlite-wal']);
  }, 180_000);

  it('each command that only reads opens the store once on its main thread, the connection that refused a file that is no store reading it after (until 2026-11-28, nineteenth session, opened, closed and opened again)', () => {
    const file = path.join(dir, 'no-wal', 'ledger.sqlite');
    // A preload that lists, at the main thread's exit, the files of the better-sqlite3 connections it opened.
    const opened = path.join(dir, 'opened.json');
    const tracker = path.join(dir, 'opened-tracker.js');
    fs.writeFileSync(
      tracker,
      `const fs = require('node:fs');\nconst { isMainThread } = require('node:worker_threads');\nconst id = ${JSON.stringify(require.resolve('better-sqlite3'))};\nconst Database = require(id);\nconst names = [];\n` +
        `if (isMainThread) require.cache[id].exports = new Proxy(Database, { construct(t, args, nt) { names.push(args[0]); return Reflect.construct(t, args, nt); } });\n` +
        `if (isMainThread) process.on('exit', () => fs.writeFileSync(${JSON.stringify(opened)}, JSON.stringify(names)));\n`,
    );
    const readModels = path.join(dir, 'opened-readmodels.sqlite');
    for (const args of [...STORE_ONLY, ...withReadModels(requestId)]) {
      fs.rmSync(opened, { force: true });
      const run = spawnSync(process.execPath, ['--require', tracker, bin, ...args], { env: { ...process.env, LEDGER_SQLITE_PATH: file, LEDGER_READMODEL_PATH: readModels }, encoding: 'utf8', timeout: 100_000 });
      expect([args, run.status]).toEqual([args, 0]);
      expect([args, (JSON.parse(fs.readFileSync(opened, 'utf8')) as string[]).filter((f) => f === file)]).toEqual([args, [file]]);
    }
  }, 180_000);

  it('a file that is not a ledger store (empty, another program\'s SQLite database) or not there is refused, naming it, nothing made or changed', () => {
    const empty = path.join(dir, 'other', 'empty.sqlite');
    const other = path.join(dir, 'other', 'other.sqlite');
    const otherWal = path.join(dir, 'other', 'other-wal.sqlite');
    const missing = path.join(dir, 'other', 'missing.sqlite');
    fs.mkdirSync(path.dirname(empty));
    fs.writeFileSync(empty, '');
    const db = new Database(other);
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('not the ledger')");
    db.close();
    const walDb = new Database(otherWal);
    walDb.pragma('journal_mode = WAL');
    walDb.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT)'); // an events table, not the ledger's
    walDb.close();
    const listing = () => fs.readdirSync(path.dirname(empty)).sort().map((f) => [f, hashOf(path.join(path.dirname(empty), f))]);
    const before = listing();
    const readModels = path.join(dir, 'other-readmodels.sqlite');
    for (const args of [['verify'], ['digest'], ['what-if', '--rule-set', 'baseline'], ['report', 'stuck-devices'], ['rebuild']]) {
      for (const [file, why] of [
        [empty, 'the file is empty'],
        [other, 'it has no events table'],
        [otherWal, 'its events table has no position, stream, revision, event_id, type, data, metadata, created columns'],
      ]) {
        const run = ledger(file, args, { LEDGER_READMODEL_PATH: readModels });
        // Until the review of 2026-11-28: "LEDGER_SQLITE_PATH could not be opened (<file> is not a ledger event store (...): ...), got '<file>'".
        expect([args, run.status, run.stderr.trim()]).toEqual([args, 3, `ledger: LEDGER_SQLITE_PATH names a file that is not a ledger event store (${why}; nothing was read or written), got '${file}'`]);
      }
      // One code and one wording for every file that holds no store to read (until the review of 2026-11-28 one not there exited 2).
      const none = ledger(missing, args, { LEDGER_READMODEL_PATH: readModels });
      expect([args, none.status, none.stderr.trim()]).toEqual([args, 3, `ledger: LEDGER_SQLITE_PATH names no file: there is no event store there to read, and a read makes none (nothing was read or made), got '${missing}'`]);
    }
    // No read models made for a store refused (until the final read of 2026-11-28 report, history and rebuild made them
    // before another program's file was refused).
    expect(fs.existsSync(readModels)).toBe(false);
    // Each file byte-identical; beside the one in WAL mode SQLite's own -shm and an empty -wal (see the README).
    const after = listing();
    expect(after.filter(([f]) => !/-(wal|shm)$/.test(f!))).toEqual(before);
    expect(after.filter(([f]) => /-(wal|shm)$/.test(f!)).map(([f, h]) => [f, f!.endsWith('-wal') ? h : 'the -shm'])).toEqual([['other-wal.sqlite-shm', 'the -shm'], ['other-wal.sqlite-wal', EMPTY_SHA256]]);
  }, 180_000);
});
