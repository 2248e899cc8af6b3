import { NestFactory } from '@nestjs/core';
import * as cliProgress from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestAt, ProxyDisagreementReport, replayDecision, StuckReports, verifyStore, whatIf } from '@ledger/audit';
import { formatRequestId, getRuleSet, parseDeviceId, parseInstant, parseRequestId, RULE_SETS, type ServiceRequest } from '@ledger/domain';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { DEMO_DEFAULTS, importRegistrationFile, Ledger, runDemo, serviceRequestsFromFile } from '@ledger/ledger';
import { DecisionQueries, DeviceQueries, Projector } from '@ledger/projections';
import { LedgerCoreModule, loadConfig } from '@ledger/runtime';

/** A failure the CLI reports in one line and exits 1 for. */
export class CliError extends Error {}

export interface Output {
  json: boolean;
  /** Whether stderr is a terminal: a progress bar is drawn only then. */
  tty: boolean;
  out(text: string): void;
  err(text: string): void;
}

/** The project's version, from the package.json above this file (in the sources or in dist/). */
function version(dir = __dirname): string {
  const file = path.join(dir, 'package.json');
  if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  const up = path.dirname(dir);
  return up === dir ? 'unknown' : version(up);
}
/** A rule set by its id (its latest version) or as id@version. */
const RULE_SET_IDS = [...new Set(RULE_SETS.map((r) => r.id)), ...RULE_SETS.map((r) => `${r.id}@${r.version}`)];

/** A progress bar (cli-progress) on a terminal; nothing when stderr is piped or with --json. */
function progress(o: Output, label: string) {
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

const stringify = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2);

const wholeNumber = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(v);
};
const position = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('a position is a whole number');
  return BigInt(v);
};
const ruleSetOption = (description: string) => new Option('--rule-set <id>', description).choices(RULE_SET_IDS);

/**
 * The store, the ledger, the read models' queries and the audit reports, from the same
 * composition root as the API (one validated configuration), the read models brought up to date
 * with the store unless `catchUp` is false.
 */
async function open(env: Record<string, string | undefined>, o: Output, catchUp = true) {
  const app = await NestFactory.createApplicationContext(LedgerCoreModule.forRoot(loadConfig(env)), { logger: false, abortOnError: false });
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
    store,
    projector,
    ledger: app.get(Ledger),
    decisions: app.get(DecisionQueries),
    devices: app.get(DeviceQueries),
    stuckReports: app.get(StuckReports),
    disagreements: app.get(ProxyDisagreementReport),
    close,
  };
}

/**
 * Runs the `ledger` CLI (commander): returns the exit code. Unknown commands and options, and
 * missing arguments, print the reason and the command's help on stderr and give 2; `--help` and
 * `--version` give 0; a failure of the work itself throws (the bin prints it in one line, exit 1).
 */
export async function runCli(argv: string[], env: Record<string, string | undefined>, o: Output): Promise<number> {
  let exitCode = 0;
  const print = (value: unknown, text: () => string) => o.out(o.json ? stringify(value) : text());
  const program = new Command('ledger')
    .description("the SMETS1 certificate ledger's operator CLI")
    .version(version())
    .exitOverride()
    .allowExcessArguments(false)
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => o.out(s.trimEnd()), writeErr: (s) => o.err(s) })
    .addHelpText(
      'after',
      `\nEnvironment: the API's (LEDGER_STORE, LEDGER_SQLITE_PATH, EVENTSTORE_CONNECTION_STRING, LEDGER_READMODEL_PATH,\nLEDGER_RULE_SET, ...: see the README's configuration table). Rule sets: ${RULE_SETS.map((r) => `${r.id}@${r.version}`).join(', ')} (a bare id is its latest version).`,
    );
  const command = (parent: Command, name: string, description: string) => parent.command(name).description(description).option('--json', 'JSON output, for scripts');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander hands each action its own argument types
  const run = <A extends any[]>(work: (...args: A) => Promise<number>) => async (...args: A) => {
    exitCode = await work(...args);
  };

  command(program, 'serve', 'run the HTTP API (as npm start)').action(
    run(async () => {
      const { serve } = await import('./serve');
      await serve(env);
      return 0;
    }),
  );

  command(program, 'import-registrations', 'import a Registration Data file (bad lines reported, good lines kept)')
    .argument('<file>', 'a Registration Data CSV file')
    .action(
      run(async (file: string) => {
        const bytes = readFile(file);
        const l = await open(env, o, false);
        try {
          const bar = progress(o, 'importing');
          const { lastPosition: _, ...report } = await importRegistrationFile(l.ledger, bytes, path.basename(file), { actor: 'cli:import-registrations' }, (done, total) => bar.update(done, total));
          bar.done();
          const { written, unchanged, errors } = report;
          print({ ...report, file }, () => [`${file}: ${written} written, ${unchanged} unchanged, ${errors.length} rejected`, ...errors.map((e) => `  line ${e.line}: ${e.field}: ${e.reason}`)].join('\n'));
          return 0;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'submit', 'judge DUIS XML or JSON service requests (every file is validated before any is judged)')
    .argument('<files...>', 'DUIS XML files, or JSON files of one request or a list')
    .action(
      run(async (files: string[]) => {
        // Every file is read and every request validated, by the API's own intake, before anything is written.
        const receivedAt = new Date().toISOString();
        const requests: Array<{ file: string; request: ServiceRequest }> = [];
        for (const file of files) for (const request of await serviceRequestsFromFile(readFile(file), file, receivedAt)) requests.push({ file, request });
        const l = await open(env, o, false);
        try {
          const results: Array<{ file: string; requestId: string; outcome: string; responseCode: string; recorded: string; checks: Array<{ outcome: string; reason: string }>; placed: unknown[] }> = [];
          for (const { file, request } of requests) {
            const r = await l.ledger.submit(request, { actor: 'cli:submit' });
            results.push({ file, requestId: r.decision.request.requestId, outcome: r.decision.outcome, responseCode: r.decision.responseCode, recorded: r.written ? 'now' : 'before', checks: r.decision.checks, placed: r.placed });
          }
          print(results, () => results.map((r) => `${r.requestId}: ${r.outcome} ${r.responseCode}${r.recorded === 'before' ? ' (decided before)' : ''}${reasonOf(r.checks)}`).join('\n'));
          return 0;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'replay', 'replay a recorded decision (a what-if with --rule-set); exit 1 if not identical')
    .argument('<requestId>', 'originator:target:counter')
    .addOption(ruleSetOption('replay under this rule set instead of the recorded one'))
    .action(
      run(async (id: string, opts: { ruleSet?: string }) => {
        const requestId = formatRequestId(parseRequestId(id, 'requestId'));
        const l = await open(env, o);
        try {
          const row = l.decisions.decision(requestId);
          if (!row) throw new CliError(`no decision is recorded for ${requestId}`);
          const r = await replayDecision(l.store, row.decision, opts.ruleSet ? getRuleSet(opts.ruleSet) : undefined);
          print(r, () =>
            [
              `${requestId} under ${r.ruleSet.id}@${r.ruleSet.version}: recorded ${r.recorded.outcome} ${r.recorded.responseCode}, replayed ${r.replayed.outcome} ${r.replayed.responseCode}`,
              r.identical ? (opts.ruleSet ? 'unchanged' : 'identical: the decision is reproduced exactly') : `different at: ${r.differences.map((d) => d.path).join(', ')}`,
            ].join('\n'),
          );
          return opts.ruleSet || r.identical ? 0 : 1;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'what-if', 're-judge recorded decisions under another rule set')
    .addOption(ruleSetOption('the rule set to judge under').makeOptionMandatory())
    .option('--from <instant>', 'decisions received at or after')
    .option('--to <instant>', 'decisions received before')
    .option('--srv <srv>', 'one SRV only')
    .option('--device <deviceId>', 'one device only')
    .option('--user <userId>', 'one originator only')
    .option('--limit <n>', 'changed decisions listed', wholeNumber('--limit'), 20)
    .option('--offset <n>', 'changed decisions skipped', wholeNumber('--offset'), 0)
    .action(
      run(async (opts: { ruleSet: string; from?: string; to?: string; srv?: string; device?: string; user?: string; limit: number; offset: number }) => {
        const filter = {
          from: opts.from ? parseInstant(opts.from, '--from') : undefined,
          to: opts.to ? parseInstant(opts.to, '--to') : undefined,
          srv: opts.srv,
          deviceId: opts.device ? parseDeviceId(opts.device, '--device') : undefined,
          userId: opts.user ? parseDeviceId(opts.user, '--user') : undefined,
        };
        const l = await open(env, o, false);
        try {
          const bar = progress(o, 'replaying');
          const total = Number((await l.store.headPosition()) ?? 0n);
          const r = await whatIf(l.store, getRuleSet(opts.ruleSet), filter, { limit: opts.limit, offset: opts.offset }, (n) => bar.update(n, l.store.kind === 'sqlite' ? total : undefined));
          bar.done();
          print(r, () => whatIfText(r));
          return 0;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'rebuild', 'drop the read models and rebuild them from the store').action(
    run(async () => {
      const l = await open(env, o, false);
      try {
        const bar = progress(o, 'rebuilding');
        const total = Number((await l.store.headPosition()) ?? 0n);
        const started = Date.now();
        const n = await l.projector.rebuild((done) => bar.update(done, l.store.kind === 'sqlite' ? total : undefined));
        bar.done();
        const seconds = (Date.now() - started) / 1000;
        print({ events: n, seconds }, () => `rebuilt the read models from ${n} events in ${seconds.toFixed(1)} s`);
        return 0;
      } finally {
        await l.close();
      }
    }),
  );

  command(program, 'verify', "check every event's hash chain link (and a digest kept earlier); exit 1 on a break")
    .option('--digest <digest>', 'a digest kept earlier (ledger digest)')
    .option('--at <position>', 'the position that digest was taken at', position)
    .action(
      run(async (opts: { digest?: string; at?: bigint }) => {
        if (opts.digest && opts.at === undefined) throw new CliError('--digest needs --at <position> (the position the digest was taken at)');
        const l = await open(env, o, false);
        try {
          const bar = progress(o, 'verifying');
          const r = await verifyStore(l.store, (n) => bar.update(n));
          bar.done();
          let digest: { expected: string; actual: string; position: string; matches: boolean } | undefined;
          if (opts.digest) {
            const d = await digestAt(l.store, opts.at);
            digest = { expected: opts.digest, actual: d.digest, position: d.position, matches: d.digest === opts.digest };
          }
          const ok = r.ok && (!digest || digest.matches);
          print({ ...r, ok, digest }, () =>
            [
              `${r.eventsChecked} events in ${r.streamsChecked} streams: ${r.ok ? 'every hash chain link holds' : `${r.breaks.length} stream(s) broken, ${r.unreadable.length} event(s) unreadable`}`,
              ...r.breaks.map((b) => `  ${b.stream}: ${b.kind} at revision ${b.revision} (position ${b.position})`),
              ...r.unreadable.map((u) => `  ${u.stream}: unreadable at revision ${u.revision} (position ${u.position}): ${u.reason}`),
              ...(digest ? [`digest at position ${digest.position}: ${digest.matches ? 'matches' : `DOES NOT MATCH (now ${digest.actual})`}`] : []),
            ].join('\n'),
          );
          return ok ? 0 : 1;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'digest', 'a digest of every stream head at a position, for an auditor to keep')
    .option('--at <position>', 'the position (default: the head of the store)', position)
    .action(
      run(async (opts: { at?: bigint }) => {
        const l = await open(env, o, false);
        try {
          const d = await digestAt(l.store, opts.at);
          print(d, () => `${d.digest}  position ${d.position} (${d.events} events, ${d.streams} streams)\nkeep it; check later with: ledger verify --digest ${d.digest} --at ${d.position}`);
          return 0;
        } finally {
          await l.close();
        }
      }),
    );

  const report = program.command('report').description('audit reports');
  command(report, 'stuck-devices', 'stuck SMETS1 devices, and who could repair each under a rule set')
    .addOption(ruleSetOption('name who could repair each, and with which request'))
    .option('--at <instant>', 'as the estate was then (default: now)')
    .action(
      run(async (opts: { ruleSet?: string; at?: string }) => {
        const ruleSet = opts.ruleSet ? getRuleSet(opts.ruleSet) : undefined;
        const at = opts.at ? parseInstant(opts.at, '--at') : new Date().toISOString();
        const l = await open(env, o);
        try {
          const devices = l.stuckReports.asOf(at, ruleSet);
          const repairable = devices.filter((d) => d.repairable).length;
          const body = { at, ruleSet: ruleSet ? { id: ruleSet.id, version: ruleSet.version } : null, count: devices.length, ...(ruleSet ? { repairable } : {}), devices };
          print(body, () =>
            [
              `${devices.length} stuck SMETS1 device(s) at ${at}${ruleSet ? `; under ${ruleSet.id}, ${repairable} repairable, ${devices.length - repairable} not` : ''}`,
              ...devices.slice(0, 20).map((d) => {
                const how = d.repairs?.filter((r) => r.accepted).map((r) => `the ${r.who} (${r.userId}) with ${r.srv} carrying ${r.carrying}`);
                return `  ${d.deviceId} ${d.mpxn}: NO certificate of ${d.certificateOwner}, registered NO ${d.registeredOperator}, since ${d.since}${how ? ` -> ${how.length ? `repairable by ${how.join('; or ')}` : 'nobody can repair it'}` : ''}`;
              }),
              ...(devices.length > 20 ? [`  ... and ${devices.length - 20} more (--json for all)`] : []),
            ].join('\n'),
          );
          return 0;
        } finally {
          await l.close();
        }
      }),
    );
  command(report, 'proxy-disagreements', 'notified certificate records whose DSP and S1SP copies differ').action(
    run(async () => {
      const l = await open(env, o);
      try {
        const records = l.disagreements.records();
        const copy = (h: { certificate: { serial: string; ownerUserId: string } } | null) => (h ? `${h.certificate.ownerUserId} (serial ${h.certificate.serial})` : 'none');
        print({ count: records.length, records }, () =>
          [`${records.length} notified certificate record(s) whose DSP and S1SP copies disagree`, ...records.map((r) => `  ${r.deviceId} ${r.slot}: DSP ${copy(r.dsp)}, S1SP ${copy(r.s1sp)}, since ${r.since}`)].join('\n'),
        );
        return 0;
      } finally {
        await l.close();
      }
    }),
  );

  command(program, 'history', "a device's inventory, certificates and decisions")
    .argument('<deviceId>', 'the device EUI-64')
    .action(
      run(async (id: string) => {
        const deviceId = parseDeviceId(id, 'deviceId');
        const l = await open(env, o);
        try {
          const timeline = l.devices.history(deviceId);
          if (timeline.length === 0) throw new CliError(`device ${deviceId} is not known to the ledger`);
          print({ deviceId, timeline }, () =>
            timeline
              .map((h) =>
                h.kind === 'certificate'
                  ? `${h.placedAt}  certificate ${h.slot} of ${h.owner} (serial ${h.serial}) placed by ${h.via}${h.reference ? ` ${h.reference}` : ''}`
                  : h.kind === 'decision'
                    ? `${h.receivedAt}  ${h.srv} from ${h.originator}: ${h.outcome} ${h.responseCode} (${h.ruleSet})  ${h.requestId}`
                    : `${h.changedAt}  inventory: ${h.deviceType} SMETS${h.smetsGeneration} ${h.status} serving ${h.mpxn}`,
              )
              .join('\n'),
          );
          return 0;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'demo', 'fill a fresh, empty store with a realistic estate')
    .option('--devices <n>', 'devices in the estate', wholeNumber('--devices'), DEMO_DEFAULTS.devices)
    .option(
      '--wrong-share <fraction>',
      'share of SMETS1 migrations that place the wrong NO certificate',
      (v: string) => {
        const n = Number(v);
        if (!/^\d*\.?\d+$/.test(v) || n > 1) throw new InvalidArgumentError('--wrong-share must be a fraction from 0 to 1');
        return n;
      },
      DEMO_DEFAULTS.wrongNoShare,
    )
    .option('--seed <n>', 'the seed (the estate is the same for the same seed)', wholeNumber('--seed'), DEMO_DEFAULTS.seed)
    .action(
      run(async (opts: { devices: number; wrongShare: number; seed: number }) => {
        const l = await open(env, o, false);
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
          const stuck = Object.fromEntries(
            RULE_SETS.map((rs) => {
              const list = l.stuckReports.asOf(at, rs);
              return [rs.id, { stuck: list.length, repairable: list.filter((d) => d.repairable).length }];
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
          return 0;
        } finally {
          await l.close();
        }
      }),
    );

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    return ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code) ? 0 : 2;
  }
  return exitCode;
}

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function reasonOf(checks: Array<{ outcome: string; reason: string }>): string {
  const failed = checks.find((c) => c.outcome === 'fail');
  return failed ? `: ${failed.reason}` : '';
}

function whatIfText(r: Awaited<ReturnType<typeof whatIf>>): string {
  const rs = r.ruleSet === 'as recorded' ? 'their recorded rule sets' : `${r.ruleSet.id}@${r.ruleSet.version}`;
  const lines = [
    `${r.judged} decisions re-judged under ${rs}: ${r.unchanged} unchanged, ${r.changed.rejectedToAccepted} rejected -> accepted, ${r.changed.acceptedToRejected} accepted -> rejected, ${r.changed.codeOnly} with another code`,
  ];
  if (r.notJudgeable > 0) lines.push(`${r.notJudgeable} decisions of SRVs ${rs} does not judge (a rule set @1 judges the 10 SRVs of catalogue@1 only) were left out`);
  const srvs = Object.entries(r.bySrv).filter(([, s]) => s.changed > 0);
  if (srvs.length) lines.push('by SRV: ' + srvs.map(([srv, s]) => `${srv} ${s.changed}/${s.judged} changed`).join(', '));
  const codes = Object.entries(r.byCode);
  if (codes.length) lines.push('by code: ' + codes.map(([c, n]) => `${c}: ${n}`).join(', '));
  for (const c of r.changes.items) lines.push(`  ${c.requestId} ${c.srv}: ${c.recorded.outcome} ${c.recorded.responseCode} -> ${c.replayed.outcome} ${c.replayed.responseCode}`);
  if (r.changes.total > r.changes.offset + r.changes.items.length) lines.push(`  ... ${r.changes.total} changed in all (--offset/--limit to page, --json for scripts)`);
  return lines.join('\n');
}
