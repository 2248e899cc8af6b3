import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { IsDefined, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min, ValidateIf, validateSync } from 'class-validator';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getRuleSet, RULE_SET_CHOICES, RULE_SET_NAMES, type RuleSet } from '@ledger/domain';
import type { StoreConfig } from '@ledger/event-store';
import { StoreFileRefusedError } from '@ledger/event-store/errors';
import { sameInode, SQLITE_SIDE_FILES, SQLITE_SIDE_SUFFIXES } from '@ledger/event-store/sqlite-files';

/**
 * The ledger's one configuration: every environment variable the API and the CLI read, read once
 * and validated at start-up. The class is the schema (class-validator); an invalid value stops
 * the process with a ConfigError naming the variable, what it expects and what it got.
 * `CONFIG_VARIABLES` documents each variable; a test holds the README's table to it.
 */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

class Environment {
  @IsInt({ message: 'must be an integer from 0 to 65535' })
  @Min(0, { message: 'must be an integer from 0 to 65535' })
  @Max(65535, { message: 'must be an integer from 0 to 65535' })
  PORT: number = 3000;

  @IsString()
  @IsNotEmpty({ message: 'must be an address to listen on' })
  HOST = '127.0.0.1';

  @IsIn(['sqlite', 'esdb'], { message: "must be 'sqlite' or 'esdb'" })
  LEDGER_STORE = 'sqlite';

  @IsString()
  @Matches(/\S/, { message: 'must be a file path (SQLite takes a blank name for a temporary database, gone at exit)' })
  LEDGER_SQLITE_PATH = './data/ledger.sqlite';

  @IsIn(['thread', 'inline'], { message: "must be 'thread' or 'inline'" })
  LEDGER_SQLITE_WRITER = 'thread';

  @ValidateIf((e: Environment) => e.LEDGER_STORE === 'esdb')
  @IsDefined({ message: 'is needed with LEDGER_STORE=esdb (e.g. esdb://127.0.0.1:2113?tls=false)' })
  @Matches(/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kdb|kdb\+discover):\/\/\S+$/, { message: 'must be an EventStoreDB connection string (esdb://host:port?tls=false)' })
  EVENTSTORE_CONNECTION_STRING?: string;

  @IsInt({ message: 'must be a whole number of milliseconds from 1 to 2147483647' })
  @Min(1, { message: 'must be a whole number of milliseconds from 1 to 2147483647' })
  @Max(2_147_483_647, { message: 'must be a whole number of milliseconds from 1 to 2147483647' }) // a longer timer fires at once in Node
  LEDGER_STORE_TIMEOUT_MS: number = 10_000;

  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'must be a file path (SQLite takes a blank name for a temporary database, gone at exit)' })
  LEDGER_READMODEL_PATH?: string;

  @IsIn([...RULE_SET_CHOICES], { message: `must be one of ${RULE_SET_NAMES.join(', ')} (the latest version), or id@version` })
  LEDGER_RULE_SET = 'baseline';

  @IsOptional()
  @IsString()
  LEDGER_API_KEYS?: string;

  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LEDGER_LOG_LEVEL = 'info';

  @IsIn(['key', 'public'], { message: "must be 'key' (an auditor or admin key) or 'public'" })
  LEDGER_METRICS_ACCESS = 'key';

  @IsInt({ message: 'must be a whole number of events, 0 or more' })
  @Min(0, { message: 'must be a whole number of events, 0 or more' })
  LEDGER_READY_MAX_LAG: number = 10_000;

  @IsInt({ message: 'must be a whole number from 1 to 16' })
  @Min(1, { message: 'must be a whole number from 1 to 16' })
  @Max(16, { message: 'must be a whole number from 1 to 16' })
  LEDGER_JOBS_MAX_RUNNING: number = 1;

  @IsInt({ message: 'must be a whole number from 1 to 64' })
  @Min(1, { message: 'must be a whole number from 1 to 64' })
  @Max(64, { message: 'must be a whole number from 1 to 64' })
  LEDGER_WHATIF_THREADS: number = 1;

  @IsInt({ message: 'must be a whole number from 0 to 19' })
  @Min(0, { message: 'must be a whole number from 0 to 19' })
  @Max(19, { message: 'must be a whole number from 0 to 19' })
  LEDGER_JOBS_NICE: number = 10;

  @IsOptional()
  @Matches(/^https?:\/\/[^\s,/]+(,https?:\/\/[^\s,/]+)*$/, { message: 'must be a comma-separated list of origins (https://host[:port], no path: a browser sends its origin without one, so an origin with a path never matches)' })
  LEDGER_CORS_ORIGINS?: string;
}

/** Each variable, what it means and its default, as the README's configuration table lists them. */
export const CONFIG_VARIABLES: ReadonlyArray<{ variable: keyof Environment; meaning: string; default: string }> = [
  { variable: 'PORT', meaning: 'HTTP port', default: '`3000`' },
  { variable: 'HOST', meaning: 'address to listen on', default: '`127.0.0.1`' },
  { variable: 'LEDGER_STORE', meaning: '`sqlite` (embedded) or `esdb` (EventStoreDB)', default: '`sqlite`' },
  { variable: 'LEDGER_SQLITE_PATH', meaning: 'the SQLite event store file (its directory is created)', default: '`./data/ledger.sqlite`' },
  { variable: 'LEDGER_SQLITE_WRITER', meaning: "where the SQLite store's appends are written and fsynced: `thread` (a writer thread, off the event loop) or `inline` (on the event loop)", default: '`thread`' },
  { variable: 'EVENTSTORE_CONNECTION_STRING', meaning: 'EventStoreDB connection string, with `LEDGER_STORE=esdb`', default: 'none' },
  { variable: 'LEDGER_STORE_TIMEOUT_MS', meaning: 'our own deadline on every EventStoreDB call (1 to 2147483647)', default: '`10000`' },
  { variable: 'LEDGER_READMODEL_PATH', meaning: 'the read-model database', default: '`readmodels.sqlite` beside the store' },
  { variable: 'LEDGER_RULE_SET', meaning: 'the rule set new decisions are made under; a bare id is its latest version, since 2026-11-28 @5, whose decisions code from before @5 cannot read (`<id>@4` keeps the earlier judgement: see "Upgrading to rule sets @5" under Operations)', default: '`baseline` (@5)' },
  { variable: 'LEDGER_API_KEYS', meaning: "`key:role,...` or `key:role@name,...` (roles `intake`, `auditor`, `admin`; keys of 8 characters or more; a name recorded with the key's id: see Access)", default: 'the development keys' },
  { variable: 'LEDGER_LOG_LEVEL', meaning: `log level (${LOG_LEVELS.join(', ')}); JSON lines, pretty on a terminal`, default: '`info`' },
  { variable: 'LEDGER_METRICS_ACCESS', meaning: '`/metrics`: `key` (an auditor or admin key) or `public`', default: '`key`' },
  { variable: 'LEDGER_READY_MAX_LAG', meaning: 'events the read models may trail the store before `/health/ready` answers 503 (0 or more)', default: '`10000`' },
  { variable: 'LEDGER_JOBS_MAX_RUNNING', meaning: 'audit jobs (verify, digest, what-if) running at once on worker threads (1-16); the rest queue', default: '`1`' },
  { variable: 'LEDGER_WHATIF_THREADS', meaning: "threads a what-if judges on (1-64; the CLI's, and each what-if job's, handed to its worker by the API: the jobs running at once take at most the larger of this and `LEDGER_JOBS_MAX_RUNNING` threads, a what-if job as many of its threads as are free, a rebuild job, with this at 2 or more, two when both are free: the second reads and checks the events ahead of it; on EventStoreDB or a SQLite store in memory every job takes one from the start (`takesThreads`), and a job gives back at its start those its run does not use: a log too short to share, a deep page): the device streams split between them; `1` judges on one (a second thread paid only from about a million events, and takes a core the API's event loop and writer need; see docs/performance-log.md, \"The what-if on several threads\")", default: '`1`' },
  { variable: 'LEDGER_JOBS_NICE', meaning: "how much nicer than the API's own threads the job threads (audit jobs and rebuild jobs) run, on Linux (0-19, and 19 at most in all; `0`: as the API's): the higher, the more CPU the API's event loop and writer get from them while both want it (a job runs at full speed on an otherwise idle core); ignored on other systems", default: '`10`' },
  { variable: 'LEDGER_CORS_ORIGINS', meaning: 'origins allowed by CORS, comma-separated (`https://host[:port]`, no path)', default: 'none (CORS off)' },
];

export interface LedgerConfig {
  host: string;
  port: number;
  store: StoreConfig;
  readModelPath: string;
  ruleSet: RuleSet;
  /** LEDGER_API_KEYS as given (parsed into keys by the API), or undefined for the development keys. */
  apiKeys: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  metricsAccess: 'key' | 'public';
  readyMaxLag: number;
  jobsMaxRunning: number;
  whatIfThreads: number;
  jobsNice: number;
  corsOrigins: string[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly reason: string,
    readonly given: string | undefined,
  ) {
    super(`${variable} ${reason}${given === undefined ? '' : `, got '${given}'`}`);
  }
}

/**
 * A database file SQLite could not open at start-up (a read-only file or directory, a file cut
 * short or damaged at its first page), as a ConfigError naming its variable and the file: SQLite's
 * own message ("unable to open database file", "database disk image is malformed") named neither.
 * The API's start and the CLI's commands both say it so (until 2026-11-27 the CLI printed
 * `ledger: unexpected error:` and SQLite's message). A store's file a read-only open refused
 * (StoreFileRefusedError: not there, not a ledger store) is said as the refusal of a file that is
 * not a SQLite database is, its reason after the variable.
 */
export function openError(err: unknown, config: LedgerConfig): unknown {
  const file = (err as { file?: unknown } | undefined)?.file;
  const variable = config.store.kind === 'sqlite' && file === config.store.path ? 'LEDGER_SQLITE_PATH' : file === config.readModelPath ? 'LEDGER_READMODEL_PATH' : undefined;
  if (!variable) return err;
  return new ConfigError(variable, err instanceof StoreFileRefusedError ? err.reason : `could not be opened (${(err as Error).message})`, file as string);
}

/** Reads and validates the configuration from an environment (an empty value counts as unset). */
export function loadConfig(env: Record<string, string | undefined>): LedgerConfig {
  const given: Record<string, string> = {};
  for (const { variable } of CONFIG_VARIABLES) {
    const v = env[variable];
    if (v !== undefined && v !== '') given[variable] = v;
  }
  const values: Record<string, string | number> = { ...given };
  for (const key of ['PORT', 'LEDGER_STORE_TIMEOUT_MS', 'LEDGER_READY_MAX_LAG', 'LEDGER_JOBS_MAX_RUNNING', 'LEDGER_WHATIF_THREADS', 'LEDGER_JOBS_NICE']) {
    // whole numbers only: '1.5', '80a' or '1e3' stay text, and the schema refuses them
    if (given[key] !== undefined && /^\d+$/.test(given[key].trim())) values[key] = Number(given[key]);
  }
  const e = plainToInstance(Environment, values, { exposeDefaultValues: true });
  const [problem] = validateSync(e, { forbidUnknownValues: false });
  if (problem) {
    const constraints = problem.constraints ?? {};
    const reason = constraints.isDefined ?? Object.values(constraints)[0] ?? 'is not valid';
    throw new ConfigError(problem.property, reason.replace(new RegExp(`^${problem.property} `), ''), given[problem.property]);
  }
  for (const variable of ['LEDGER_SQLITE_PATH', 'LEDGER_READMODEL_PATH'] as const) {
    const file = e[variable];
    if (file !== undefined && (variable === 'LEDGER_READMODEL_PATH' || e.LEDGER_STORE === 'sqlite') && isDirectory(file)) throw new ConfigError(variable, 'names a directory: it must be the database file', given[variable]);
  }
  const readModelPath = e.LEDGER_READMODEL_PATH ?? path.join(path.dirname(e.LEDGER_STORE === 'esdb' ? './data/ledger.sqlite' : e.LEDGER_SQLITE_PATH), 'readmodels.sqlite');
  // The read models' path too where it is derived (not given): its directory is made at the open.
  for (const [variable, file] of [...(e.LEDGER_STORE === 'sqlite' ? [['LEDGER_SQLITE_PATH', e.LEDGER_SQLITE_PATH]] : []), ['LEDGER_READMODEL_PATH', readModelPath]] as const) {
    const blocking = file !== ':memory:' ? fileInTheWay(file) : undefined;
    if (blocking) throw new ConfigError(variable, `cannot be made: ${blocking} is a file, not a directory`, file);
  }
  if (e.LEDGER_STORE === 'sqlite' && e.LEDGER_SQLITE_PATH !== ':memory:' && readModelPath !== ':memory:' && SQLITE_SIDE_FILES.some((suffix) => sameFile(e.LEDGER_SQLITE_PATH + suffix, readModelPath) || sameFile(e.LEDGER_SQLITE_PATH, readModelPath + suffix))) {
    // the read models' tables would go into the store's file (or its log into theirs), and a rebuild, which moves its file onto the read models' path, would replace the store with them
    throw new ConfigError('LEDGER_READMODEL_PATH', `names the event store's own file (LEDGER_SQLITE_PATH, or its ${SQLITE_SIDE_SUFFIXES.join(', ').replace(/, ([^,]*)$/, ' or $1')}): the read models need a file of their own`, readModelPath);
  }
  for (const [variable, file] of [...(e.LEDGER_STORE === 'sqlite' ? [['LEDGER_SQLITE_PATH', e.LEDGER_SQLITE_PATH]] : []), ['LEDGER_READMODEL_PATH', readModelPath]] as const) {
    if (!isSqliteOrAbsent(file)) throw new ConfigError(variable, 'names a file that is not a SQLite database (nothing was opened or written)', file);
  }
  const store: StoreConfig =
    e.LEDGER_STORE === 'esdb' ? { kind: 'esdb', connectionString: e.EVENTSTORE_CONNECTION_STRING!, timeoutMs: e.LEDGER_STORE_TIMEOUT_MS } : { kind: 'sqlite', path: e.LEDGER_SQLITE_PATH, writer: e.LEDGER_SQLITE_WRITER as 'thread' | 'inline' };
  return {
    host: e.HOST,
    port: e.PORT,
    store,
    readModelPath,
    ruleSet: getRuleSet(e.LEDGER_RULE_SET),
    apiKeys: e.LEDGER_API_KEYS,
    logLevel: e.LEDGER_LOG_LEVEL as LedgerConfig['logLevel'],
    metricsAccess: e.LEDGER_METRICS_ACCESS as 'key' | 'public',
    readyMaxLag: e.LEDGER_READY_MAX_LAG,
    jobsMaxRunning: e.LEDGER_JOBS_MAX_RUNNING,
    whatIfThreads: e.LEDGER_WHATIF_THREADS,
    jobsNice: e.LEDGER_JOBS_NICE,
    corsOrigins: e.LEDGER_CORS_ORIGINS ? e.LEDGER_CORS_ORIGINS.split(',') : [],
  };
}

/**
 * Whether a database path is a SQLite file (its 16-byte header), an empty file or not there yet
 * (SQLite makes either a new database): another file stops start-up naming its variable, where
 * SQLite's own "file is not a database" came later and named neither the file nor the variable.
 */
function isSqliteOrAbsent(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return true; // not there yet (it is created), or not readable: SQLite says so when it opens it
  }
  try {
    const header = Buffer.alloc(16);
    const n = fs.readSync(fd, header, 0, 16, 0);
    return n === 0 || header.toString('latin1') === 'SQLite format 3\0';
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether two paths name one file: the same path once resolved, or (both there) the same inode, through a link. */
function sameFile(a: string, b: string): boolean {
  if (canonical(a) === canonical(b)) return true;
  try {
    return sameInode(fs.statSync(a, { bigint: true }), fs.statSync(b, { bigint: true }));
  } catch {
    return false; // one is not there yet: a new file of its own
  }
}

/**
 * A path with the links on its way followed as far as they lead to something there (a link to a
 * file not made yet too), the rest as given: two names of one file, a directory's link among them,
 * compare equal before the file is made (until 2026-11-27 only once both existed, so a first start
 * through a linked directory put the read models in the store's file).
 */
function canonical(file: string): string {
  // Not path.resolve: it takes `link/..` away by name, where the system goes up from where the link leads.
  let at = path.isAbsolute(file) ? file : `${process.cwd()}${path.sep}${file}`;
  const rest: string[] = [];
  for (let links = 0; ; ) {
    try {
      const stat = fs.lstatSync(at);
      if (stat.isSymbolicLink() && links++ < 40) {
        const target = fs.readlinkSync(at);
        at = path.isAbsolute(target) ? target : `${fs.realpathSync.native(path.dirname(at))}${path.sep}${target}`;
        continue;
      }
      return path.join(fs.realpathSync.native(at), ...[...rest].reverse());
    } catch {
      const up = path.dirname(at);
      if (up === at) return path.join(at, ...[...rest].reverse());
      rest.push(path.basename(at));
      at = up;
    }
  }
}

/**
 * The file in the way of `file`'s directory (the nearest of its parents that is there, where that is
 * not a directory), else undefined: the open's mkdir would fail with Node's EEXIST or ENOTDIR, which
 * names neither (until the sixteenth session's final read, "could not be opened (EEXIST: file
 * already exists, mkdir ...)").
 */
function fileInTheWay(file: string): string | undefined {
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    try {
      return fs.statSync(dir).isDirectory() ? undefined : dir;
    } catch {
      if (path.dirname(dir) === dir) return undefined; // none of them there (or none to be read): the open says why
    }
  }
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false; // not there yet: it is created
  }
}
