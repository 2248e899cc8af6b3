import * as fs from 'node:fs';
import * as path from 'node:path';
import { replayDecision, verifyStore, digestAt, whatIf } from '@ledger/audit';
import { getRuleSet, parseDeviceId, parseInstant, parseRequestId, formatRequestId, RULE_SETS, type ServiceRequest } from '@ledger/domain';
import { createEventStore, storeConfigFromEnv, type EventStore } from '@ledger/event-store';
import { DEMO_DEFAULTS, importRegistrationFile, Ledger, runDemo, serviceRequestsFromFile } from '@ledger/ledger';
import { Projector, readModelPathFromEnv, ReadModels } from '@ledger/projections';

export const USAGE = `ledger: the SMETS1 certificate ledger's operator CLI

Usage: ledger <command> [options]            (every command takes --json)

  serve                                      run the HTTP API (as npm start)
  import-registrations <file.csv>            import a Registration Data file
  submit <file>...                           judge DUIS XML or JSON service requests
  replay <requestId> [--rule-set R]          replay a recorded decision (a what-if with --rule-set)
  what-if --rule-set R [--from T --to T] [--srv S --device D --user U] [--limit N --offset N]
                                             re-judge recorded decisions under rule set R
  rebuild                                    drop the read models and rebuild them from the store
  verify [--digest D --at P]                 check every event's hash chain (and a kept digest)
  digest [--at P]                            digest of all stream heads at a position
  report stuck-devices [--rule-set R] [--at T]
  report proxy-disagreements                 notified certificates whose DSP and S1SP copies differ
  history <deviceId>                         a device's certificates and decisions
  demo [--devices N] [--wrong-share F] [--seed N]
                                             fill a fresh store with a realistic estate

Environment: LEDGER_STORE (sqlite|esdb), LEDGER_SQLITE_PATH, EVENTSTORE_CONNECTION_STRING,
LEDGER_READMODEL_PATH, LEDGER_RULE_SET (default baseline). Rule sets: ${RULE_SETS.map((r) => `${r.id}@${r.version}`).join(', ')} (a bare id is its latest version).`;

/** A failure the CLI reports in one line and exits non-zero for. */
export class CliError extends Error {}

interface Args {
  positional: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2);
      if (inline !== undefined) flags[k] = inline;
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--') && !['json', 'help'].includes(k)) flags[k] = argv[++i];
      else flags[k] = true;
    } else positional.push(a);
  }
  return { positional, flags };
}

export interface Output {
  json: boolean;
  /** Whether stderr is a terminal: a progress bar is drawn only then. */
  tty: boolean;
  out(text: string): void;
  err(text: string): void;
}

/** A progress bar on a terminal; nothing when piped or with --json. */
function progress(o: Output, label: string) {
  let last = 0;
  return {
    update(done: number, total?: number) {
      if (!o.tty || o.json) return;
      const now = Date.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      if (total) {
        const width = 30;
        const filled = Math.round((done / total) * width);
        o.err(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      } else o.err(`\r${label} ${done}`);
    },
    done() {
      if (o.tty && !o.json) o.err('\r\x1b[K');
    },
  };
}

const stringify = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2);

function flag(args: Args, name: string): string | undefined {
  const v = args.flags[name];
  if (v === true) throw new CliError(`--${name} needs a value`);
  return v;
}

function intFlag(args: Args, name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new CliError(`--${name} must be a whole number, got '${v}'`);
  return Number(v);
}

/** The store, the ledger and the read models (brought up to date with the store). */
async function open(env: Record<string, string | undefined>, o: Output, catchUp = true) {
  const store: EventStore = await createEventStore(storeConfigFromEnv(env));
  const readModels = new ReadModels(readModelPathFromEnv(env));
  const projector = new Projector(store, readModels);
  const ledger = new Ledger(store, getRuleSet(env.LEDGER_RULE_SET || 'baseline'));
  const close = async () => {
    readModels.close();
    await store.dispose();
  };
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
  return { store, readModels, projector, ledger, close };
}

export async function runCli(argv: string[], env: Record<string, string | undefined>, o: Output): Promise<number> {
  const args = parseArgs(argv);
  const [command, ...rest] = args.positional;
  const print = (value: unknown, text: () => string) => o.out(o.json ? stringify(value) : text());
  if (!command || args.flags.help || command === 'help') {
    o.out(USAGE);
    return command || args.flags.help ? 0 : 1;
  }
  switch (command) {
    case 'serve': {
      const { serve } = await import('./serve');
      await serve(env);
      return 0;
    }
    case 'import-registrations': {
      if (rest.length !== 1) throw new CliError('import-registrations takes one file');
      const bytes = readFile(rest[0]);
      const l = await open(env, o, false);
      try {
        const bar = progress(o, 'importing');
        const { lastPosition: _, ...report } = await importRegistrationFile(l.ledger, bytes, path.basename(rest[0]), { actor: 'cli:import-registrations' }, (done, total) => bar.update(done, total));
        bar.done();
        const { written, unchanged, errors } = report;
        print({ ...report, file: rest[0] }, () => [`${rest[0]}: ${written} written, ${unchanged} unchanged, ${errors.length} rejected`, ...errors.map((e) => `  line ${e.line}: ${e.field}: ${e.reason}`)].join('\n'));
        return 0;
      } finally {
        await l.close();
      }
    }
    case 'submit': {
      if (rest.length === 0) throw new CliError('submit takes one or more files (DUIS XML or JSON)');
      // Every file is read and every request validated, by the API's own intake, before anything is written.
      const receivedAt = new Date().toISOString();
      const requests: Array<{ file: string; request: ServiceRequest }> = [];
      for (const file of rest) for (const request of await serviceRequestsFromFile(readFile(file), file, receivedAt)) requests.push({ file, request });
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
    }
    case 'replay': {
      if (rest.length !== 1) throw new CliError('replay takes one RequestID');
      const requestId = formatRequestId(parseRequestId(rest[0], 'requestId'));
      const l = await open(env, o);
      try {
        const row = l.readModels.decision(requestId);
        if (!row) throw new CliError(`no decision is recorded for ${requestId}`);
        const ruleSet = flag(args, 'rule-set');
        const r = await replayDecision(l.store, row.decision, ruleSet ? getRuleSet(ruleSet) : undefined);
        print(r, () =>
          [
            `${requestId} under ${r.ruleSet.id}@${r.ruleSet.version}: recorded ${r.recorded.outcome} ${r.recorded.responseCode}, replayed ${r.replayed.outcome} ${r.replayed.responseCode}`,
            r.identical ? (ruleSet ? 'unchanged' : 'identical: the decision is reproduced exactly') : `different at: ${r.differences.map((d) => d.path).join(', ')}`,
          ].join('\n'),
        );
        return ruleSet || r.identical ? 0 : 1;
      } finally {
        await l.close();
      }
    }
    case 'what-if': {
      const name = flag(args, 'rule-set');
      if (!name) throw new CliError('what-if needs --rule-set (one of ' + RULE_SETS.map((r) => `${r.id}@${r.version}`).join(', ') + '; a bare id is its latest version)');
      const ruleSet = getRuleSet(name);
      const filter = {
        from: flag(args, 'from') ? parseInstant(flag(args, 'from'), '--from') : undefined,
        to: flag(args, 'to') ? parseInstant(flag(args, 'to'), '--to') : undefined,
        srv: flag(args, 'srv'),
        deviceId: flag(args, 'device') ? parseDeviceId(flag(args, 'device'), '--device') : undefined,
        userId: flag(args, 'user') ? parseDeviceId(flag(args, 'user'), '--user') : undefined,
      };
      const l = await open(env, o, false);
      try {
        const bar = progress(o, 'replaying');
        const total = Number((await l.store.headPosition()) ?? 0n);
        const r = await whatIf(l.store, ruleSet, filter, { limit: intFlag(args, 'limit') ?? 20, offset: intFlag(args, 'offset') ?? 0 }, (n) => bar.update(n, l.store.kind === 'sqlite' ? total : undefined));
        bar.done();
        print(r, () => whatIfText(r));
        return 0;
      } finally {
        await l.close();
      }
    }
    case 'rebuild': {
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
    }
    case 'verify': {
      const l = await open(env, o, false);
      try {
        const bar = progress(o, 'verifying');
        const r = await verifyStore(l.store, (n) => bar.update(n));
        bar.done();
        const kept = flag(args, 'digest');
        let digest: { expected: string; actual: string; position: string; matches: boolean } | undefined;
        if (kept) {
          const at = flag(args, 'at');
          if (!at || !/^\d+$/.test(at)) throw new CliError('--digest needs --at <position> (the position the digest was taken at)');
          const d = await digestAt(l.store, BigInt(at));
          digest = { expected: kept, actual: d.digest, position: d.position, matches: d.digest === kept };
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
    }
    case 'digest': {
      const at = flag(args, 'at');
      if (at !== undefined && !/^\d+$/.test(at)) throw new CliError(`--at must be a position, got '${at}'`);
      const l = await open(env, o, false);
      try {
        const d = await digestAt(l.store, at === undefined ? undefined : BigInt(at));
        print(d, () => `${d.digest}  position ${d.position} (${d.events} events, ${d.streams} streams)\nkeep it; check later with: ledger verify --digest ${d.digest} --at ${d.position}`);
        return 0;
      } finally {
        await l.close();
      }
    }
    case 'report': {
      if (rest[0] === 'proxy-disagreements') {
        const l = await open(env, o);
        try {
          const records = l.readModels.proxyDisagreements();
          const copy = (h: { certificate: { serial: string; ownerUserId: string } } | null) => (h ? `${h.certificate.ownerUserId} (serial ${h.certificate.serial})` : 'none');
          print({ count: records.length, records }, () =>
            [
              `${records.length} notified certificate record(s) whose DSP and S1SP copies disagree`,
              ...records.map((r) => `  ${r.deviceId} ${r.slot}: DSP ${copy(r.dsp)}, S1SP ${copy(r.s1sp)}, since ${r.since}`),
            ].join('\n'),
          );
          return 0;
        } finally {
          await l.close();
        }
      }
      if (rest[0] !== 'stuck-devices') throw new CliError("report takes 'stuck-devices' or 'proxy-disagreements'");
      const name = flag(args, 'rule-set');
      const ruleSet = name ? getRuleSet(name) : undefined;
      const at = flag(args, 'at') ? parseInstant(flag(args, 'at'), '--at') : new Date().toISOString();
      const l = await open(env, o);
      try {
        const devices = l.readModels.stuckDevices(at, ruleSet);
        const repairable = devices.filter((d) => d.repairable).length;
        const report = { at, ruleSet: ruleSet ? { id: ruleSet.id, version: ruleSet.version } : null, count: devices.length, ...(ruleSet ? { repairable } : {}), devices };
        print(report, () =>
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
    }
    case 'history': {
      if (rest.length !== 1) throw new CliError('history takes one device ID');
      const deviceId = parseDeviceId(rest[0], 'deviceId');
      const l = await open(env, o);
      try {
        const timeline = l.readModels.history(deviceId);
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
    }
    case 'demo': {
      const devices = intFlag(args, 'devices') ?? DEMO_DEFAULTS.devices;
      const share = flag(args, 'wrong-share') === undefined ? DEMO_DEFAULTS.wrongNoShare : Number(flag(args, 'wrong-share'));
      if (!(share >= 0 && share <= 1)) throw new CliError('--wrong-share must be a fraction from 0 to 1');
      const l = await open(env, o, false);
      try {
        if ((await l.store.headPosition()) !== undefined) throw new CliError('demo wants a fresh, empty store: point LEDGER_SQLITE_PATH at a new file');
        const bar = progress(o, 'demo estate');
        const started = Date.now();
        const summary = await runDemo(l.ledger, { devices, wrongNoShare: share, seed: intFlag(args, 'seed') ?? DEMO_DEFAULTS.seed, onProgress: (d, t) => bar.update(d, t) });
        bar.done();
        const pbar = progress(o, 'projecting');
        await l.projector.catchUp((n) => pbar.update(n));
        pbar.done();
        const at = new Date().toISOString();
        const stuck = Object.fromEntries(
          RULE_SETS.filter((rs) => getRuleSet(rs.id) === rs).map((rs) => {
            const list = l.readModels.stuckDevices(at, rs);
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
    }
    default:
      throw new CliError(`unknown command '${command}' (ledger --help lists them)`);
  }
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
