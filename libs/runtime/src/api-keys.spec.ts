import { apiKeyId, DEV_API_KEYS, parseApiKeys } from './api-keys';
import { ConfigError } from './config';

/** What LEDGER_API_KEYS accepts, and who each key is recorded as. */

/**
 * Each key is recorded as `api:<role>:<id>[:<name>]`, its id the first 12 hex digits of its
 * SHA-256: the ids below are `printf %s KEY | sha256sum | cut -c1-12`, the README's one-liner.
 */
describe('LEDGER_API_KEYS: key:role or key:role@name,... with keys of 8 characters or more', () => {
  it.each`
    spec                                             | keys
    ${DEV_API_KEYS}                                  | ${[['dev-intake-key', 'api:intake:a4dbdb234359'], ['dev-auditor-key', 'api:auditor:46151c35c1c0'], ['dev-admin-key', 'api:admin:df76ff796f70']]}
    ${'12345678:intake'}                             | ${[['12345678', 'api:intake:ef797c8118f0']]}
    ${' abcdefgh:auditor , ,ijklmnop:admin, '}       | ${[['abcdefgh', 'api:auditor:9c56cc51b374'], ['ijklmnop', 'api:admin:d2789a29f48b']]}
    ${'with:colon:inside:auditor'}                   | ${[['with:colon:inside', 'api:auditor:b3c702c63e7e']]}
    ${'same-key-1:admin,same-key-1:admin'}           | ${[['same-key-1', 'api:admin:fdf2c7d08b5e']]}
    ${'abcdefgh:intake@rdp-feed'}                    | ${[['abcdefgh', 'api:intake:9c56cc51b374:rdp-feed']]}
    ${'p@ss:word1:auditor@Audit_2.b'}                | ${[['p@ss:word1', 'api:auditor:5f9d212f5695:Audit_2.b']]}
    ${'clé-secrète:intake'}                          | ${[['clé-secrète', 'api:intake:c69ebab72fa8']]}
    ${'abcdefgh:intake@feed,ijklmnop:intake@feed'}   | ${[['abcdefgh', 'api:intake:9c56cc51b374:feed'], ['ijklmnop', 'api:intake:d2789a29f48b:feed']]}
    ${'same-key-1:admin@x,same-key-1:admin@x'}       | ${[['same-key-1', 'api:admin:fdf2c7d08b5e:x']]}
  `('$spec gives $keys', ({ spec, keys }) => {
    expect([...parseApiKeys(spec)].map(([key, holder]) => [key, holder.actor])).toEqual(keys);
  });

  it('each key holds its role, its id and its name apart, never the key', () => {
    const [[, named], [, unnamed]] = [...parseApiKeys('abcdefgh:intake@rdp-feed,abcdefgh:intake@rdp-feed,ijklmnop:admin')];
    expect(named).toEqual({ role: 'intake', id: '9c56cc51b374', name: 'rdp-feed', entry: 1, actor: 'api:intake:9c56cc51b374:rdp-feed' });
    expect(unnamed).toEqual({ role: 'admin', id: 'd2789a29f48b', entry: 3, actor: 'api:admin:d2789a29f48b' });
    expect(apiKeyId('abcdefgh')).toBe('9c56cc51b374');
  });

  it.each`
    spec                                      | message
    ${'1234567:intake'}                       | ${'LEDGER_API_KEYS entry 1: a key must be at least 8 characters'}
    ${'abcdefgh:intake,short:auditor'}        | ${'LEDGER_API_KEYS entry 2: a key must be at least 8 characters'}
    ${':intake'}                              | ${"LEDGER_API_KEYS entry 1 must be 'key:role' or 'key:role@name' with role one of intake, auditor, admin"}
    ${'abcdefghij'}                           | ${"LEDGER_API_KEYS entry 1 must be 'key:role' or 'key:role@name' with role one of intake, auditor, admin"}
    ${'abcdefghij:reader'}                    | ${"LEDGER_API_KEYS entry 1 must be 'key:role' or 'key:role@name' with role one of intake, auditor, admin"}
    ${'abcdefghij:'}                          | ${"LEDGER_API_KEYS entry 1 must be 'key:role' or 'key:role@name' with role one of intake, auditor, admin"}
    ${'abcdefghij:reader@feed'}               | ${"LEDGER_API_KEYS entry 1 must be 'key:role' or 'key:role@name' with role one of intake, auditor, admin"}
    ${'abcdefghij:intake@'}                   | ${"LEDGER_API_KEYS entry 1: a key's name must be 1 to 40 letters, digits, '.', '_' or '-', got ''"}
    ${'abcdefghij:intake@rdp feed'}           | ${"LEDGER_API_KEYS entry 1: a key's name must be 1 to 40 letters, digits, '.', '_' or '-', got 'rdp feed'"}
    ${'abcdefghij:intake@a@b'}                | ${"LEDGER_API_KEYS entry 1: a key's name must be 1 to 40 letters, digits, '.', '_' or '-', got 'a@b'"}
    ${`abcdefghij:intake@${'n'.repeat(41)}`}  | ${`LEDGER_API_KEYS entry 1: a key's name must be 1 to 40 letters, digits, '.', '_' or '-', got '${'n'.repeat(41)}'`}
    ${'same-key-1:intake,same-key-1:admin'}   | ${'LEDGER_API_KEYS entry 2: its key is listed before with role intake; give each key one role'}
    ${'same-key-1:intake@a,same-key-1:intake@b'} | ${'LEDGER_API_KEYS entry 2: its key is listed before named a; give each key one name'}
    ${'same-key-1:intake,same-key-1:intake@b'} | ${'LEDGER_API_KEYS entry 2: its key is listed before without a name; give each key one name'}
    ${''}                                     | ${'LEDGER_API_KEYS holds no key'}
    ${' , '}                                  | ${'LEDGER_API_KEYS holds no key'}
  `('$spec is refused: $message', ({ spec, message }) => {
    // A ConfigError: the CLI and the API stop with its one line, which names the entry, never its key.
    expect(() => parseApiKeys(spec)).toThrow(ConfigError);
    expect(() => parseApiKeys(spec)).toThrow(new Error(message));
  });
});
