import { NestFactory } from '@nestjs/core';
import * as cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { ProxyDisagreementReport, StuckReports } from '@ledger/audit';
import { DomainError, RULE_SET_CHOICES } from '@ledger/domain';
import { createEventStore, EVENT_STORE, LogRewrittenError, StoreBusyError, StoreDamagedError, StoreFullError, StoreUnavailableError, UnreadableEventError, type EventStore } from '@ledger/event-store';
import { IntakeError, Ledger, StreamContentionError } from '@ledger/ledger';
import { CheckpointMovedBackError, DecisionQueries, DeviceQueries, Projector, ReadModelDb, ReadModelRowError, ReadModelsBusyError, ReadModelsNotOfStoreError, RebuildOutOfSpaceError, RebuildPathTakenError } from '@ledger/projections';
import { ConfigError, LedgerCoreModule, loadConfig, openError, type LedgerConfig } from '@ledger/runtime';

/** What was asked cannot be done as asked (a value, a file, something named that is not there, but the store: exit 3, its configuration): reported in one line, exit 2. */
export class CliError extends Error {}

/**
 * The CLI's exit codes, one scheme for every command (the README's table): a script acts on them
 * without --json. 1 says the work was done and something in it refused or found, which a run of
 * the same input again would say again; 2 and 3 that it was not done, for the input's reason or the
 * ledger's.
 */
export const EXIT = {
  /** Done: every line and request recorded or judged, the decision reproduced, every link holding. */
  done: 0,
  /** Done, with refusals or findings: lines rejected (the good ones kept), a request refused (the others judged), a decision not reproduced, a broken link or digest. */
  refused: 1,
  /** Refused as asked, nothing done: usage, a value or file refused whole, something named that is not there (but the store's file: 3). */
  usage: 2,
  /** The ledger could not do it: its store, its configuration, a stored event or read model it cannot read, its own fault. */
  failed: 3,
  /** Stopped unfinished: the reader of its output went away (a pipe closed: `| head`); 128 + SIGPIPE, as a shell reports a command that signal stopped. */
  readerGone: 141,
} as const;

/** Errors of the input: the message is the reason, nothing was done (exit 2). */
const REFUSALS = [CliError, DomainError, IntakeError];
/** Errors of the ledger whose message is the reason and what to do (exit 3); any other is a fault of the CLI's own (exit 3, an "unexpected error"). */
const LEDGER_FAILURES = [StoreUnavailableError, StoreBusyError, StoreFullError, StoreDamagedError, ConfigError, UnreadableEventError, ReadModelsNotOfStoreError, ReadModelRowError, ReadModelsBusyError, RebuildOutOfSpaceError, RebuildPathTakenError, StreamContentionError, CheckpointMovedBackError, LogRewrittenError];

/** The exit code of a command that threw: the input's fault (2) or the ledger's (3). */
export function exitCodeOf(err: unknown): number {
  return REFUSALS.some((k) => err instanceof k) ? EXIT.usage : EXIT.failed;
}

/** Whether a thrown error's message says what went wrong (one of the above), rather than being a fault of the CLI's own. */
export function isKnownFailure(err: unknown): boolean {
  return [...REFUSALS, ...LEDGER_FAILURES].some((k) => err instanceof k);
}

export interface Output {
  json: boolean;
  /** Whether stderr is a terminal: a progress bar is drawn only then. */
  tty: boolean;
  /** Prints a line; a promise when the reader is behind, for a writer of many lines to wait for (writeLine). */
  out(text: string): void | Promise<void>;
  err(text: string): void;
}

/** The project's version, from the package.json above this file (in the sources or in dist/). */
export function version(dir = __dirname): string {
  const file = path.join(dir, 'package.json');
  if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  const up = path.dirname(dir);
  return up === dir ? 'unknown' : version(up);
}
/** A rule set by its id (its latest version) or as id@version. */
export const RULE_SET_IDS = RULE_SET_CHOICES;

/** A progress bar (cli-progress) on a terminal; nothing when stderr is piped or with --json. */
export function progress(o: Output, label: string) {
  if (!o.tty || o.json) return { update: (_done: number, _total?: number) => undefined, done: () => undefined };
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done: number, total?: number) {
      if (!bar) {
        bar = new cliProgress.SingleBar({ format: total ? `${label} [{bar}] {value}/{total}` : `${label} {value}`, stream: process.stderr, clearOnComplete: true, hideCursor: true }, cliProgress.Presets.legacy);
        bar.start(total ?? 0, done);
      }
      bar.update(done);
    },
    done() {
      bar?.stop();
    },
  };
}

/**
 * What the CLI never writes to a terminal as it is: control characters (C0 but tab and line feed,
 * DEL, C1), format characters (bidi overrides, embeddings, isolates and marks, zero-width spaces
 * and joiners, a soft hyphen, a BOM), the line and paragraph separators (U+2028, U+2029), the other
 * characters that show nothing (Unicode's default ignorables: a Hangul filler), and lone surrogates.
 */
const UNSHOWN = '\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}\\p{Default_Ignorable_Code_Point}';
const UNSHOWN_CHAR = new RegExp(`(?![\\t\\n])[${UNSHOWN}]`, 'gu');
/**
 * What after a run of backslashes has it doubled: an escape shown, or `u` and four hex digits, so that no escape shown is a value's own text (a path's `C:\users` is shown as it is).
 * Read once after each whole run (BACKSLASHES): until 2026-11-28 one pattern, `\\+(?=...)`, tried each run again from each of its backslashes, so 65,536 of them took 17-24 s.
 */
const BEFORE_ESCAPE = new RegExp(`u[0-9a-fA-F]{4}|(?![\\t\\n])[${UNSHOWN}]`, 'uy');
const BACKSLASHES = /\\+/gu;
const doubled = (run: string, at: number, text: string) => {
  BEFORE_ESCAPE.lastIndex = at + run.length;
  return BEFORE_ESCAPE.test(text) ? run + run : run;
};
/** `c` as the `\u` escapes of its UTF-16 units (two for a character past U+FFFF), as JSON writes them. */
const escaped = (c: string) => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

/**
 * Text for a terminal: the characters above written as `\u` escapes, so that a value quoted from
 * a file or the store (an escape sequence in a CSV field, a carriage return, a right-to-left
 * override, a line separator) cannot move the cursor, clear the screen, overwrite what the operator
 * reads, show it in another order than it is, or hide a character in it. A run of backslashes
 * before a `u` or such a character is doubled, so that an escape shown is never a value's own text
 * (the six characters `\u202e` are shown `\\u202e`; until 2026-11-27, fourteenth session, as the
 * override escaped); any other backslash is shown as it is (for some hours that day every one was
 * doubled, the CLI's own messages too).
 */
export const forTerminal = (text: string) => text.replace(BACKSLASHES, doubled).replace(UNSHOWN_CHAR, escaped);

/**
 * JSON for a terminal (--json): the same characters written as JSON's `\u` escapes, which keep
 * the value (JSON.stringify escapes C0 and lone surrogates already, and the others can only stand
 * inside a string); a backslash is left as it is, JSON's own escape (`\\` in a string already).
 */
export const jsonForTerminal = (json: string) => json.replace(UNSHOWN_CHAR, escaped);

/**
 * Writes `line` to `stream`. Writes to a pipe are asynchronous: what a slow reader has not taken is
 * held in memory, so where the stream says it holds enough (write() gives false) this gives a
 * promise, settled when it has drained (or closed: no reader left), for a writer of many lines to
 * wait for (`ledger verify --all`: 100,000 lines to a slow reader peaked at 231 MiB before 2026-11-27,
 * fifteenth session, 154 MiB since; see the README).
 */
export function writeLine(stream: Writable, line: string): void | Promise<void> {
  if (stream.write(`${line}\n`) || stream.destroyed) return;
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done).off('close', done);
      resolve();
    };
    stream.on('drain', done).on('close', done);
  });
}

/** JSON with bigints as decimal strings: indented, or on one line (`indent` 0: a line of JSON Lines). */
export const stringify = (v: unknown, indent = 2) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), indent);

/** A whole number from `min` to `max` (by default any a JavaScript number holds exactly). */
export const wholeNumber =
  (name: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}) =>
  (v: string) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be from ${min} to ${max}`);
    return n;
  };
export const position = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('a position is a whole number');
  return BigInt(v);
};
export const ruleSetOption = (description: string) => new Option('--rule-set <id>', description).choices(RULE_SET_IDS);

/**
 * The configuration of a command; for one that only reads the store (`writes` false), a SQLite
 * store opened to be read only (openStoreReadOnly: nothing written to its file or its -wal), and
 * one that is not there refused, nothing made. That store, opened here, is the command's (`store`):
 * until 2026-11-28, nineteenth session, it was opened to be refused, closed, and opened again.
 */
async function configOf(env: Record<string, string | undefined>, writes: boolean): Promise<{ config: LedgerConfig; store?: EventStore }> {
  const config = loadConfig(env);
  if (writes || config.store.kind !== 'sqlite' || config.store.path === ':memory:') return { config };
  // A command that only reads (verify, replay, a report) on a SQLite file that is not there would make an empty store
  // and answer for it ("every link holds", "0 stuck devices"): a mistyped path, another program's file or a copy beside a hot
  // -journal is refused, nothing made, before the read models are opened (the file opened to be read only). The
  // commands that record make it. Until the review of 2026-11-28 a missing file was a CliError (exit 2), where an empty file
  // exited 3; until the final read that day only a missing or empty file was refused here, the others after the read models
  // were made beside the store.
  // Until 2026-11-28 (eighteenth session) opened as the commands that record open it: WAL mode set on a file in
  // rollback-journal mode, the events table made in another program's file, a -wal folded into the file at the close.
  // Through createEventStore, the one place configuration becomes a store (until 2026-11-28, twentieth session, built here).
  const readOnly: LedgerConfig = { ...config, store: { ...config.store, readOnly: true } };
  return { config: readOnly, store: await storeOf(readOnly) };
}

/** The store `config` names (createEventStore), a failure to open it said as the variable naming its file (openError: the constructor names the file). */
async function storeOf(config: LedgerConfig): Promise<EventStore> {
  try {
    return await createEventStore(config.store);
  } catch (err) {
    throw openError(err, config);
  }
}

/**
 * The store alone, for a command that reads nothing else (verify, digest, what-if): no read
 * models opened (until 2026-11-28, eighteenth session, they were, and made beside the store where
 * LEDGER_READMODEL_PATH was not set: a readmodels.sqlite in an evidence copy's directory).
 */
export async function openStore(env: Record<string, string | undefined>) {
  const { config, store: opened } = await configOf(env, false);
  const store = opened ?? (await storeOf(config));
  return { config, store, close: () => store.dispose() };
}

/**
 * The store, the ledger, the read models' queries and the audit reports, from the same
 * composition root as the API (one validated configuration), the read models brought up to date
 * with the store unless `catchUp` is false. The store is opened to be read only unless the
 * command `writes` to it (the commands that record).
 */
export async function open(env: Record<string, string | undefined>, o: Output, catchUp = true, writes = false) {
  const { config, store: opened } = await configOf(env, writes);
  const app = await NestFactory.createApplicationContext(LedgerCoreModule.forRoot(config, { store: opened }), { logger: false, abortOnError: false }).catch(async (err: unknown) => {
    await opened?.dispose().catch(() => undefined); // the app that would have disposed of it was not made
    throw openError(err, config);
  });
  const store = app.get<EventStore>(EVENT_STORE);
  const projector = app.get(Projector);
  const close = () => app.close();
  try {
    if (catchUp) {
      const bar = progress(o, 'projecting');
      await projector.catchUp((n) => bar.update(n));
      bar.done();
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    config,
    store,
    projector,
    readModels: app.get(ReadModelDb),
    ledger: app.get(Ledger),
    decisions: app.get(DecisionQueries),
    devices: app.get(DeviceQueries),
    stuckReports: app.get(StuckReports),
    disagreements: app.get(ProxyDisagreementReport),
    close,
  };
}

/**
 * A file's bytes; with `limit`, one larger is refused before it is read, naming its size and the
 * limit. What is allocated is what the file holds (its size, and one byte to see its end), not the
 * limit: until 2026-11-27 (fourteenth session) each limited file took limit + 1 bytes (32 MiB),
 * kept alive by the bytes returned (`submit a.json b.json ...` held one a file).
 */
export function readFile(file: string, limit?: { bytes: number; what: string }): Buffer {
  try {
    if (!limit) return fs.readFileSync(file);
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size > limit.bytes) throw new CliError(`${file} is ${size} bytes, over the ${limit.bytes}-byte limit for ${limit.what}: split it into smaller files`);
      // A pipe, /dev/stdin or a file still growing says size 0 (or less than it holds): read on, room doubled as it fills, to one byte past the limit at most.
      let bytes = Buffer.allocUnsafe(Math.min(size > 0 ? size + 1 : 64 * 1024, limit.bytes + 1));
      let read = 0;
      for (;;) {
        if (read === bytes.length) {
          if (read > limit.bytes) throw new CliError(`${file} holds more than the ${limit.bytes}-byte limit for ${limit.what}: split it into smaller files`);
          const more = Buffer.allocUnsafe(Math.min(bytes.length * 2, limit.bytes + 1));
          bytes.copy(more, 0, 0, read);
          bytes = more;
        }
        const n = fs.readSync(fd, bytes, read, bytes.length - read, null);
        if (n === 0) break;
        read += n;
      }
      // A file read in chunks may leave much of its last room unused: only what it holds is kept.
      return read + 1 >= bytes.length ? bytes.subarray(0, read) : Buffer.from(bytes.subarray(0, read));
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** What each command module is handed: the environment, the output, and the program's helpers. */
export interface Kit {
  env: Record<string, string | undefined>;
  o: Output;
  /** A subcommand with the common --json option. */
  command(parent: Command, name: string, description: string): Command;
  /** Wraps a command's work: its result is the exit code. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander hands each action its own argument types
  run<A extends any[]>(work: (...args: A) => Promise<number>): (...args: A) => Promise<void>;
  /** Prints JSON with --json, else the text. */
  print(value: unknown, text: () => string): void;
}
