import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '@ledger/runtime';
import { runCli } from './cli';

/** `ledger key-ids`: who each API key of LEDGER_API_KEYS is recorded as, by its entry; never a key. */

async function ledger(env: Record<string, string>, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, env, { json: argv.includes('--json'), tty: false, out: (t) => void out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('') };
}

describe('ledger key-ids', () => {
  // The ids are the README's `openssl kdf ... SCRYPT` one-liner's (libs/runtime/src/api-keys.spec.ts runs it).
  const LEDGER_API_KEYS = 'intake-feed-key-A:intake@rdp-feed,intake-feed-key-A:intake@rdp-feed,auditor-desk-key-Y:auditor';

  it('prints each key as recorded, by its entry in LEDGER_API_KEYS, and never a key', async () => {
    const r = await ledger({ LEDGER_API_KEYS }, 'key-ids');
    // Its keys are shorter than 32 characters: warned of, as the API does once it listens (until the seventeenth session's final read, not here).
    expect(r).toEqual({
      code: 0,
      out: 'entry 1: api:intake:893a09117d39:rdp-feed\nentry 3: api:auditor:294bc0d87da1',
      err: expect.stringMatching(/^ledger: warning: LEDGER_API_KEYS entries 1, 3: keys shorter than 32 characters;[^\n]*\n$/),
    });
    const j = await ledger({ LEDGER_API_KEYS }, 'key-ids', '--json');
    expect(JSON.parse(j.out)).toEqual([
      { role: 'intake', id: '893a09117d39', name: 'rdp-feed', entry: 1, actor: 'api:intake:893a09117d39:rdp-feed' },
      { role: 'auditor', id: '294bc0d87da1', entry: 3, actor: 'api:auditor:294bc0d87da1' },
    ]);
    expect(r.out + j.out).not.toContain('-key-');
  });

  it('unset (or empty), the development keys, said so', async () => {
    for (const env of [{}, { LEDGER_API_KEYS: '' }] as Array<Record<string, string>>) {
      expect(await ledger(env, 'key-ids')).toEqual({
        code: 0,
        out: 'entry 1: api:intake:b6dba7868170\nentry 2: api:auditor:ff06eff0a56e\nentry 3: api:admin:0a6ac6cae4c1',
        err: 'ledger: LEDGER_API_KEYS is not set: these are the development keys\n',
      });
    }
  });

  it('reads LEDGER_API_KEYS alone: another variable the API would refuse is no matter here', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'key-ids-'));
    const notSqlite = path.join(dir, 'not-a-store.sqlite');
    fs.writeFileSync(notSqlite, 'not a SQLite file');
    try {
      for (const other of [{ PORT: 'abc' }, { LEDGER_RULE_SET: 'nope' }, { LEDGER_SQLITE_PATH: notSqlite }] as Array<Record<string, string>>) {
        expect(await ledger({ LEDGER_API_KEYS, ...other }, 'key-ids')).toMatchObject({ code: 0, out: 'entry 1: api:intake:893a09117d39:rdp-feed\nentry 3: api:auditor:294bc0d87da1' });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a list the API would refuse is refused as its start-up is, naming the entry, not the key', async () => {
    const refused = await ledger({ LEDGER_API_KEYS: 'secret-key-1:intake,secret-key-1:admin' }, 'key-ids').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toBe('LEDGER_API_KEYS entry 2: its key is listed before with role intake; give each key one role');
  });
});
