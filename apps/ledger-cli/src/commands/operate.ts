import { Command, InvalidArgumentError } from 'commander';
import { getRuleSet, RULE_SET_NAMES } from '@ledger/domain';
import { DEMO_DEFAULTS, runDemo } from '@ledger/ledger';
import { isFull, type EventStore } from '@ledger/event-store';
import { putRebuiltInPlace, RebuildOutOfSpaceError, rebuildFileBeside, rebuildInto, removeOrphanedRebuilds, removeRebuildFile, replacedNotOfStore, type Projector, type ReadModelDb, type ReplacedNotOfStore } from '@ledger/projections';
import { apiKeysOf, shortKeysWarning } from '@ledger/runtime';
import { CliError, EXIT, open, progress, wholeNumber, type Kit } from '../support';

/** The demo plans every device's story in memory first; a million devices is ~7 million events, ~6 GB of store. */
const DEMO_MAX_DEVICES = 1_000_000;

/** Running the ledger: serve the API, name its keys' actors, rebuild the read models, fill an empty store with the demo estate. */
export function operateCommands(program: Command, { env, o, command, run, print }: Kit): void {
  command(program, 'serve', 'run the HTTP API (as npm start)').action(
    run(async () => {
      const { serve } = await import('../serve');
      await serve(env);
      return EXIT.done;
    }),
  );

  command(program, 'key-ids', "who each API key of LEDGER_API_KEYS is recorded as (api:<role>:<id>[:<name>], the id the key's scrypt), never the key").action(
    run(async () => {
      // LEDGER_API_KEYS alone: another variable's bad value (PORT, the store's path) is no matter here.
      const given = env.LEDGER_API_KEYS || undefined;
      if (given === undefined) o.err('ledger: LEDGER_API_KEYS is not set: these are the development keys\n');
      const parsed = apiKeysOf(given);
      const keys = [...parsed.values()];
      print(keys, () => keys.map((k) => `entry ${k.entry}: ${k.actor}`).join('\n'));
      // As the API warns once it listens: where an operator looks at the keys (until the seventeenth session's final read, unsaid here).
      const short = given === undefined ? undefined : shortKeysWarning(parsed);
      if (short) o.err(`ledger: warning: ${short}\n`);
      return EXIT.done;
    }),
  );

  command(program, 'rebuild', 'rebuild the read models from the store in a file of their own, put in their place when done').action(
    run(async () => {
      const stop = stopOnSignal();
      const l = await stop.opened(open(env, o, false));
      try {
        const bar = progress(o, 'rebuilding');
        const total = Number((await l.store.headPosition()) ?? 0n);
        const started = Date.now();
        const onProgress = (done: number) => bar.update(done, l.store.kind === 'sqlite' ? total : undefined);
        const { events: n, replaced } = l.readModels.file === ':memory:' ? await rebuildInPlace(l.projector, onProgress) : await rebuildBeside(l, stop, onProgress, (line) => o.err(line));
        bar.done();
        // Read models projected past the store's head, or of another event at their checkpoint: the log was cut or rewritten; the rebuild cleared that trace, so it says so.
        if (replaced) o.err(`ledger: warning: ${replaced.warning}\n`);
        const seconds = (Date.now() - started) / 1000;
        print({ events: n, seconds, ...(replaced ? { replaced } : {}) }, () => `rebuilt the read models from ${n} events in ${seconds.toFixed(1)} s${replaced ? ' (see the warning above)' : ''}`);
        return EXIT.done;
      } finally {
        stop.off();
        // Stopped: the handler closes and exits; the rebuild failing as its connections close under it is not said.
        if (stop.stopping()) await new Promise<never>(() => undefined);
        await l.close();
      }
    }),
  );

  command(program, 'demo', 'fill a fresh, empty store with a realistic estate')
    .option('--devices <n>', 'devices in the estate', wholeNumber('--devices', { min: 1, max: DEMO_MAX_DEVICES }), DEMO_DEFAULTS.devices)
    .option(
      '--wrong-share <fraction>',
      'share of SMETS1 migrations that place the wrong NO certificate',
      (v: string) => {
        const n = Number(v);
        // Digits, or digits, a point and digits: `^\d*\.?\d+$` (until 2026-11-28) took time quadratic in a run of digits (65,536 and an `x`: 8.4-9.5 s).
        if (!/^(?:\d+|\d*\.\d+)$/.test(v) || n > 1) throw new InvalidArgumentError('--wrong-share must be a fraction from 0 to 1');
        return n;
      },
      DEMO_DEFAULTS.wrongNoShare,
    )
    .option('--seed <n>', 'the seed (the estate is the same for the same seed)', wholeNumber('--seed', { max: 0xffffffff }), DEMO_DEFAULTS.seed)
    .action(
      run(async (opts: { devices: number; wrongShare: number; seed: number }) => {
        const l = await open(env, o, false, true);
        try {
          if ((await l.store.headPosition()) !== undefined) throw new CliError(`demo wants a fresh, empty store: ${l.store.kind === 'sqlite' ? 'point LEDGER_SQLITE_PATH at a new file' : 'point EVENTSTORE_CONNECTION_STRING at an EventStoreDB holding no ledger events'}`);
          const bar = progress(o, 'demo estate');
          const started = Date.now();
          const summary = await runDemo(l.ledger, { devices: opts.devices, wrongNoShare: opts.wrongShare, seed: opts.seed, onProgress: (d, t) => bar.update(d, t) });
          bar.done();
          const pbar = progress(o, 'projecting');
          await l.projector.catchUp((n) => pbar.update(n));
          pbar.done();
          const at = new Date().toISOString();
          // Under each rule set's latest version (a bare id); until 2026-11-27 under all twelve versions, keyed by id, so nine were thrown away.
          const stuck = Object.fromEntries(
            RULE_SET_NAMES.map((id) => {
              const list = l.stuckReports.asOf(at, getRuleSet(id));
              return [id, { stuck: list.length, repairable: list.filter((d) => d.repairable).length }];
            }),
          );
          const seconds = (Date.now() - started) / 1000;
          print({ ...summary, seconds, stuckDevices: stuck }, () =>
            [
              `demo estate: ${summary.users} users, ${summary.devices} devices (${summary.smets1} SMETS1, ${summary.wrongNoMigrations} migrated with the wrong NO certificate), ${summary.registrations} registrations, ${summary.requests} service requests, ${summary.events} events in ${seconds.toFixed(1)} s`,
              'stuck devices (wrong NO certificate) and who could repair them, by rule set:',
              ...Object.entries(stuck).map(([id, s]) => `  ${id.padEnd(20)} ${s.stuck} stuck, ${s.repairable} repairable`),
            ].join('\n'),
          );
          return EXIT.done;
        } finally {
          await l.close();
        }
      }),
    );

}

/** How long `ledger rebuild` stopped by a signal waits for its store's and read models' connections to close before it exits: a close that hangs does not hold the exit. */
const CLOSE_ON_SIGNAL_MS = 2000;
/** How long it waits, stopped while it opens them, for the opens to end (to close what they opened): an open that hangs does not hold the exit. */
const OPEN_ON_SIGNAL_MS = 30_000;

/**
 * `ledger rebuild`'s SIGINT and SIGTERM, from before it opens the store and read models: stopped,
 * it removes its rebuild's file (`rebuilding`) and closes that file's connection (`signal`, aborted:
 * until 2026-11-28, nineteenth session, left open to the exit), closes what it has opened (`opened`:
 * an open under way is closed once done) and exits 130 or 143, after CLOSE_ON_SIGNAL_MS at most. Until
 * 2026-11-27, sixteenth session, the handler was installed as the rebuild began, and a Ctrl-C while
 * the opens ran killed the process by the signal, their -wal and -shm left beside both files.
 */
function stopOnSignal() {
  let close: (() => Promise<void>) | undefined;
  let file: string | undefined;
  let code: number | undefined;
  let opening: NodeJS.Timeout | undefined;
  const aborted = new AbortController();
  const closeAndExit = () => {
    clearTimeout(opening);
    setTimeout(() => process.exit(code), CLOSE_ON_SIGNAL_MS); // a close that hangs does not hold the exit
    void close!().catch(() => undefined).then(() => process.exit(code));
  };
  const stopped = (signal: NodeJS.Signals) => {
    if (code !== undefined) return; // a second signal (a TERM after the Ctrl-C): the first's stop goes on (until the sixteenth session's last read, a second close began and the code became 143)
    code = signal === 'SIGINT' ? 130 : 143; // 128 + the signal, as a shell reports a command it stopped
    if (file) removeRebuildFile(file);
    aborted.abort();
    // The close's bound from when it begins: until the sixteenth session's final read, from the signal, so an open longer than it ended the process with nothing closed.
    if (close) closeAndExit();
    else opening = setTimeout(() => process.exit(code), OPEN_ON_SIGNAL_MS); // an open that hangs does not hold the exit
  };
  const off = () => {
    process.off('SIGINT', stopped);
    process.off('SIGTERM', stopped);
  };
  process.once('SIGINT', stopped);
  process.once('SIGTERM', stopped);
  return {
    /** What `opening` opened, once it has; stopped meanwhile, closed, and the exit waited for. An open that fails unstopped lets the signals go. */
    async opened<T extends { close: () => Promise<void> }>(opening: Promise<T>): Promise<T> {
      const opened = await opening.catch((err: unknown) => {
        if (code === undefined) {
          off();
          throw err;
        }
        return process.exit(code); // stopped, and it failed: nothing is open to close
      });
      close = opened.close;
      if (code !== undefined) {
        closeAndExit();
        await new Promise<never>(() => undefined);
      }
      return opened;
    },
    /** The rebuild's file, removed when stopped from now on. */
    rebuilding(rebuildFile: string) {
      file = rebuildFile;
    },
    stopping: () => code !== undefined,
    /** Aborted when stopped: the rebuild's own file's connection closes (rebuildInto's `signal`). */
    signal: aborted.signal,
    off,
  };
}

/**
 * Rebuilds the read models as a rebuild job does (rebuildInto: a file of their own beside them, in
 * bulk, its query indexes made at the end) and puts that file in their place (putRebuiltInPlace): an
 * API beside it goes on serving and projecting into the live file meanwhile, and follows the swap
 * (ReadModelDb.followReplaced). A rebuild that fails, or whose swap is refused, leaves the read
 * models as they were and its file removed, and so does one stopped by SIGINT or SIGTERM
 * (stopOnSignal); one killed otherwise leaves its file for the next rebuild or an API's start to remove
 * (removeOrphanedRebuilds, as a job's), said on stderr. Answers the events rebuilt, and what the read models it replaced were when not of the store's log.
 */
async function rebuildBeside(
  { store, readModels, projector }: { store: EventStore; readModels: ReadModelDb; projector: Projector },
  stop: { rebuilding: (file: string) => void; signal: AbortSignal },
  onProgress: (applied: number) => void,
  say: (line: string) => void,
): Promise<Rebuilt> {
  const removed = removeOrphanedRebuilds(readModels.file);
  if (removed.length > 0) say(`ledger: removed what rebuilds of a process no longer running left behind: ${removed.join(', ')}\n`); // as an API logs it
  const file = rebuildFileBeside(readModels.file);
  // Stopped by Ctrl-C or a TERM: its file, as large as the read models, goes with it (until 2026-11-27 it was left for the sweep, 5 minutes on),
  // and the connections are closed, each file's -wal checkpointed and removed as at any other end (until 2026-11-27, sixteenth session, left beside them).
  // Stopped before this (while the store's head was read): the stop removed no file, and rebuildInto, its signal aborted, makes none.
  stop.rebuilding(file);
  try {
    const { events } = await rebuildInto(store, file, onProgress, { signal: stop.signal });
    return { events, replaced: await putRebuiltInPlace(projector, file) };
  } catch (err) {
    // Said as where and how much room it needs (until 2026-11-27, "unexpected error: database or disk is full").
    throw isFull(err) ? new RebuildOutOfSpaceError(readModels.file, err) : err;
  }
}

/** Read models in memory, which no other process reads: rebuilt in place, after asking whether they were of the store's log. */
async function rebuildInPlace(projector: Projector, onProgress: (applied: number) => void): Promise<Rebuilt> {
  const notOfStore = await projector.notOfStore();
  return { events: await projector.rebuild(onProgress), replaced: notOfStore && replacedNotOfStore(notOfStore) };
}

/** A rebuild's events, and what the read models it replaced were when they were not of the store's log. */
interface Rebuilt {
  events: number;
  replaced: ReplacedNotOfStore | undefined;
}
