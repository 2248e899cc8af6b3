import { DomainError } from '@ledger/domain';
import { LogRewrittenError, StoreDamagedError, StoreFullError, StoreUnavailableError, UnreadableEventError } from '@ledger/event-store';
import { IntakeError, parseJsonBody, StreamContentionError } from '@ledger/ledger';
import { CheckpointMovedBackError, ReadModelRowError, ReadModelsNotOfStoreError } from '@ledger/projections';
import { ConfigError } from '@ledger/runtime';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { CliError, EXIT, exitCodeOf, forTerminal, isKnownFailure, jsonForTerminal, readFile, writeLine } from './support';

/** An instance of an error class without running its constructor (each takes its own arguments): what instanceof sees. */
const a = (k: abstract new (...args: never[]) => Error): Error => Object.create(k.prototype) as Error;

describe("what a command that threw exits with, and whether its message is shown as the reason (until 2026-11-27 a full store, a stream contended, a log rewritten were unexpected errors)", () => {
  it.each`
    given                         | error                                | code            | known
    ${'a usage refusal'}          | ${new CliError('x')}                 | ${EXIT.usage}   | ${true}
    ${'a value refused'}          | ${a(DomainError)}                    | ${EXIT.usage}   | ${true}
    ${'a file refused'}           | ${a(IntakeError)}                    | ${EXIT.usage}   | ${true}
    ${'the store out of reach'}   | ${a(StoreUnavailableError)}          | ${EXIT.failed}  | ${true}
    ${'the store out of space'}   | ${new StoreFullError('disk full')}   | ${EXIT.failed}  | ${true}
    ${'the store damaged'}        | ${a(StoreDamagedError)}            | ${EXIT.failed}  | ${true}
    ${'a bad configuration'}      | ${a(ConfigError)}                    | ${EXIT.failed}  | ${true}
    ${'an unreadable event'}      | ${a(UnreadableEventError)}           | ${EXIT.failed}  | ${true}
    ${'read models of another log'} | ${a(ReadModelsNotOfStoreError)}    | ${EXIT.failed}  | ${true}
    ${'a damaged read-model row'} | ${a(ReadModelRowError)}              | ${EXIT.failed}  | ${true}
    ${'a stream contended'}       | ${a(StreamContentionError)}          | ${EXIT.failed}  | ${true}
    ${'a checkpoint moved back'}  | ${a(CheckpointMovedBackError)}       | ${EXIT.failed}  | ${true}
    ${'a log rewritten'}          | ${new LogRewrittenError(1n, 'e')}    | ${EXIT.failed}  | ${true}
    ${'a fault of its own'}       | ${new TypeError('x is undefined')}   | ${EXIT.failed}  | ${false}
  `('given $given: exit $code, the message shown as the reason: $known', ({ error, code, known }) => {
    expect([exitCodeOf(error), isKnownFailure(error)]).toEqual([code, known]);
  });
});

describe('what the CLI writes to a terminal of a value quoted from a file or the store', () => {
  it.each`
    given                                        | value                     | text                          | json
    ${'an escape sequence'}                      | ${'sup\u001b[2Jplier'}    | ${"'sup\\u001b[2Jplier'"}     | ${'"sup\\u001b[2Jplier"'}
    ${'a right-to-left override'}                | ${'1234\u202e567'}        | ${"'1234\\u202e567'"}         | ${'"1234\\u202e567"'}
    ${'the six characters of an escape'}         | ${'1234\\u202e567'}       | ${"'1234\\\\u202e567'"}       | ${'"1234\\\\u202e567"'}
    ${'a backslash before an override'}          | ${'1234\\\u202e567'}     | ${"'1234\\\\\\u202e567'"}    | ${'"1234\\\\\\u202e567"'}
    ${'a backslash before anything else'}        | ${'C:\\x'}                | ${"'C:\\x'"}                  | ${'"C:\\\\x"'}
    ${'a backslash before a u that is no escape'} | ${'C:\\users'}           | ${"'C:\\users'"}              | ${'"C:\\\\users"'}
    ${'tab and line feed'}                       | ${'a\tb\nc'}              | ${"'a\tb\nc'"}                | ${'"a\\tb\\nc"'}
    ${'a line separator'}                        | ${'12\u2028345'}          | ${"'12\\u2028345'"}           | ${'"12\\u2028345"'}
    ${'a paragraph separator'}                   | ${'12\u2029345'}          | ${"'12\\u2029345'"}           | ${'"12\\u2029345"'}
    ${'a zero-width space'}                      | ${'12\u200b345'}          | ${"'12\\u200b345'"}           | ${'"12\\u200b345"'}
    ${'a soft hyphen'}                           | ${'12\u00ad345'}          | ${"'12\\u00ad345'"}           | ${'"12\\u00ad345"'}
    ${'a byte order mark'}                       | ${'12\ufeff345'}          | ${"'12\\ufeff345'"}           | ${'"12\\ufeff345"'}
    ${'a Hangul filler'}                         | ${'12\u3164345'}          | ${"'12\\u3164345'"}           | ${'"12\\u3164345"'}
    ${'a tag character (past U+FFFF)'}           | ${'12\u{e0041}345'}       | ${"'12\\udb40\\udc41345'"}    | ${'"12\\udb40\\udc41345"'}
  `('given $given: shown so that no escape shown is the value\'s own text, and JSON keeps the value (until 2026-11-27, fourteenth session, the six characters showed as an override escaped would, and a line separator, a zero-width space and the like reached the terminal)', ({ value, text, json }) => {
    expect(forTerminal(`'${value}'`)).toBe(text);
    const written = jsonForTerminal(JSON.stringify(value));
    expect(written).toBe(json);
    expect(JSON.parse(written)).toBe(value);
  });

  it('no two values are shown alike', () => {
    const values = ['\u202e', '\\u202e', '\\\u202e', '\\\\u202e', '\\', '\\\\', '\\u', 'u', '\\\\u'];
    expect(new Set(values.map(forTerminal)).size).toBe(values.length);
  });

  it("shows the CLI's own text as it is: a backslash that no escape follows, a message naming an escape (for some hours of 2026-11-27 every backslash was doubled: 'a \\\\ud800-\\\\udfff escape')", () => {
    for (const own of ['the file C:\\imports\\rdp.csv is not there', intakeReason(() => parseJsonBody('{"issuer":"CN=\\ud800"}'))]) expect(forTerminal(own)).toBe(own);
  });

  it('doubles a run of backslashes as the one pattern of before 2026-11-28 did, over generated texts', () => {
    const UNSHOWN = '\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}\\p{Default_Ignorable_Code_Point}';
    const before = (text: string) => text.replace(new RegExp(`\\\\+(?=u[0-9a-fA-F]{4}|(?![\\t\\n])[${UNSHOWN}])`, 'gu'), (run) => run + run).replace(new RegExp(`(?![\\t\\n])[${UNSHOWN}]`, 'gu'), (c) => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''));
    const atoms = ['\\', '\\\\', 'u', 'u202e', 'uABCD', 'u12', '\u202e', '\t', '\n', '\u0007', '\ud800', '\udc00', '\u{e0041}', 'a', ' ', 'é'];
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let k = 0; k < 5000; k++) {
      let text = '';
      for (let m = random(12); m > 0; m--) text += atoms[random(atoms.length)];
      expect([text, forTerminal(text)]).toEqual([text, before(text)]);
    }
  });

  it('shows a run of 262,144 backslashes as it is, and doubled before an override (until 2026-11-28 one of 65,536 took 17-24 s to show)', () => {
    const run = '\\'.repeat(262_144);
    expect(forTerminal(run)).toBe(run);
    expect(forTerminal(`${run}\u202e`)).toBe(`${run}${run}\\u202e`);
  });
});

describe('a file read with a limit (a request file, a Registration Data file)', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-read-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const limit = { bytes: 32 * 1024 * 1024, what: 'a file of service requests' };

  it('takes the memory of what it holds, not of the limit (until 2026-11-27, fourteenth session, 32 MiB for a file of 1 KB, kept alive by the bytes returned)', () => {
    const file = path.join(dir, 'small.json');
    const content = crypto.randomBytes(1000);
    fs.writeFileSync(file, content);
    const bytes = readFile(file, limit);
    expect(bytes.equals(content)).toBe(true);
    expect(bytes.buffer.byteLength).toBeLessThan(64 * 1024);
  });

  it('reads a pipe, which says size 0, whole; and one past a small limit is refused', async () => {
    const content = crypto.randomBytes(300 * 1024); // past the first room for a pipe, so that it grows
    const source = path.join(dir, 'source');
    fs.writeFileSync(source, content);
    // Written by a process of its own: the read is synchronous, and holds this one's event loop.
    const write = (fifo: string) => {
      spawnSync('mkfifo', [fifo]);
      return spawn('sh', ['-c', `cat '${source}' > '${fifo}'`], { stdio: 'ignore' });
    };
    const whole = write(path.join(dir, 'whole.fifo'));
    expect(readFile(path.join(dir, 'whole.fifo'), limit).equals(content)).toBe(true);
    await new Promise((resolve) => whole.on('close', resolve));
    const over = write(path.join(dir, 'over.fifo'));
    expect(() => readFile(path.join(dir, 'over.fifo'), { bytes: 100 * 1024, what: 'a test' })).toThrow(new CliError(`${path.join(dir, 'over.fifo')} holds more than the 102400-byte limit for a test: split it into smaller files`));
    over.kill();
  });

  it('refuses a file over the limit by its size, before reading it', () => {
    const file = path.join(dir, 'big.csv');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 2049);
    expect(() => readFile(file, { bytes: 2048, what: 'a test' })).toThrow(new CliError(`${file} is 2049 bytes, over the 2048-byte limit for a test: split it into smaller files`));
    expect(readFile(file, { bytes: 2049, what: 'a test' }).length).toBe(2049);
  });
});

describe('a line written to stdout (writeLine)', () => {
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('gives nothing to wait for while the reader keeps up, and a promise, settled once it has drained, when it is behind (until 2026-11-27, fifteenth session, lines piled up in memory for a slow reader)', async () => {
    const taken: string[] = [];
    let take: (() => void) | undefined;
    const slow = new Writable({ highWaterMark: 16, write: (chunk: Buffer, _enc, done) => void (taken.push(chunk.toString()), (take = done)) });
    expect(writeLine(slow, 'one')).toBeUndefined(); // 4 bytes held, under 16
    const wait = writeLine(slow, 'a line past the mark');
    expect(wait).toBeInstanceOf(Promise);
    let drained = false;
    void wait!.then(() => (drained = true));
    await turn();
    expect(drained).toBe(false);
    take!(); // the first line taken: the second is handed on
    await turn();
    expect(drained).toBe(false);
    take!(); // and taken: nothing held
    await turn();
    expect(drained).toBe(true);
    expect(taken).toEqual(['one\n', 'a line past the mark\n']);
  });

  it('settles when the reader is gone (the stream closed) rather than waiting for ever', async () => {
    const stuck = new Writable({ highWaterMark: 1, write: () => undefined });
    const wait = writeLine(stuck, 'held');
    expect(wait).toBeInstanceOf(Promise);
    stuck.destroy();
    await expect(wait).resolves.toBeUndefined();
    expect(writeLine(stuck, 'after')).toBeUndefined();
  });
});

/** The reason of the IntakeError `parse` throws. */
function intakeReason(parse: () => unknown): string {
  try {
    parse();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('parsed');
}
