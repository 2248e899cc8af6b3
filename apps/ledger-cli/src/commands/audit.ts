import { Command } from 'commander';
import { DigestPastHeadError, digestAt, isReproduction, replayDecision, runAuditWork, walkDamaged, type AuditWorkResults, type VerifyFinding } from '@ledger/audit';
import { formatRequestId, getRuleSet, parseDeviceId, parseInstant, parseRequestId, parseSrv, parseUserId } from '@ledger/domain';
import { StoreDamagedError, UnreadableEventError } from '@ledger/event-store/errors';
import { FINDINGS_LISTED } from '@ledger/event-store/hash-chain';
import { rowDamaged } from '@ledger/projections';
import { CliError, EXIT, open, openStore, position, progress, ruleSetOption, stringify, wholeNumber, type Kit } from '../support';

/** The auditor's commands: replay a decision, what-if, verify the hash chains, a digest. */
export function auditCommands(program: Command, { env, o, command, run, print }: Kit): void {
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
          const rs = opts.ruleSet ? getRuleSet(opts.ruleSet) : undefined;
          const r = await replayDecision(l.store, row.decision, rs, row.position, rowDamaged(row));
          // Under the rule set it was recorded with (named or not) a replay is a reproduction, and a difference a finding; under another, a what-if of one.
          const reproduction = isReproduction(r.recorded, r.ruleSet);
          print(r, () =>
            [
              `${requestId} under ${r.ruleSet.id}@${r.ruleSet.version}: recorded ${r.recorded.outcome} ${r.recorded.responseCode}, replayed ${r.replayed.outcome} ${r.replayed.responseCode}`,
              r.identical ? (reproduction ? 'identical: the decision is reproduced exactly' : 'unchanged') : `different at: ${r.differences.map((d) => d.path).join(', ')}`,
            ].join('\n'),
          );
          return !reproduction || r.identical ? EXIT.done : EXIT.refused;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'what-if', 're-judge recorded decisions under another rule set')
    .addOption(ruleSetOption('the rule set to judge under').makeOptionMandatory())
    .option('--from <instant>', 'decisions received at or after')
    .option('--to <instant>', 'decisions received at or before')
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
          srv: opts.srv === undefined ? undefined : parseSrv(opts.srv, 'srv').srv,
          deviceId: opts.device ? parseDeviceId(opts.device, '--device') : undefined,
          userId: opts.user ? parseUserId(opts.user, '--user') : undefined,
        };
        const ruleSet = getRuleSet(opts.ruleSet);
        const l = await openStore(env);
        try {
          const bar = progress(o, 'replaying');
          // As a what-if job runs (the same work): through the head as it was at the start, the position it reports; what
          // is appended meanwhile is neither judged nor counted (until 2026-11-27 the CLI read on to the log's end and said no position).
          const params = { ruleSet: { id: ruleSet.id, version: ruleSet.version }, filter, page: { limit: opts.limit, offset: opts.offset } };
          const r = await runAuditWork('what-if', l.store, params, (n, total) => bar.update(n, total), { whatIf: { threads: l.config.whatIfThreads, store: l.config.store } });
          bar.done();
          print(r, () => whatIfText(r));
          return EXIT.done;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'verify', "check every event's hash chain link (and a digest kept earlier); exit 1 on a break")
    .option('--digest <digest>', 'a digest kept earlier (ledger digest)')
    .option('--at <position>', 'the position that digest was taken at', position)
    .option('--all', `print every break, unreadable event and run of missing positions as it is found (by default the first ${FINDINGS_LISTED} of each, and their counts); with --json, JSON Lines: each a JSON value on a line of its own, then the report on one line`)
    .action(
      run(async (opts: { digest?: string; at?: bigint; all?: boolean }) => {
        if (opts.digest && opts.at === undefined) throw new CliError('--digest needs --at <position> (the position the digest was taken at)');
        if (opts.at !== undefined && !opts.digest) throw new CliError('--at needs --digest <digest> (the digest kept at that position)');
        if (opts.digest && !/^[0-9a-f]{64}$/.test(opts.digest)) throw new CliError(`--digest '${opts.digest}' is not a digest (64 lower-case hex characters, as ledger digest prints it)`);
        const l = await openStore(env);
        try {
          const bar = progress(opts.all ? { ...o, tty: false } : o, 'verifying'); // no bar between the lines --all prints
          // As a verify job runs (the same work): through the head as it was at the start, the position it reports; what is
          // appended meanwhile is not checked (until 2026-11-27 the CLI read on to the log's end and said no position).
          // --all: every finding printed as it is met (the walk holds only the first of each kind), the walk waiting while stdout's reader is behind.
          const onFinding = opts.all ? (f: VerifyFinding) => o.out(o.json ? JSON.stringify(f) : findingLine(f)) : undefined;
          const r = await runAuditWork('verify', l.store, {}, (n, total) => bar.update(n, total), { onFinding });
          bar.done();
          let digest: { expected: string; actual: string | null; position: string; matches: boolean; head?: string | null; unreadable?: string; damaged?: string } | undefined;
          if (opts.digest) {
            const d = await digestAt(l.store, opts.at).catch((err: unknown) => {
              // The log ends before the kept digest's position: events at or before it were removed.
              if (err instanceof DigestPastHeadError) return { digest: null, position: err.position.toString(), head: err.head?.toString() ?? null };
              // An event at or before it does not parse: no digest could have been taken over it, so it was changed since.
              if (err instanceof UnreadableEventError) return { digest: null, position: opts.at!.toString(), unreadable: err.position.toString() };
              // Damage at or before it (which the walk above reports): the digest could not be taken, nor said to match.
              if (err instanceof StoreDamagedError) return { digest: null, position: opts.at!.toString(), damaged: err.message };
              throw err;
            });
            digest = { expected: opts.digest, actual: d.digest, position: d.position, matches: d.digest === opts.digest, ...('head' in d ? { head: d.head } : {}), ...('unreadable' in d ? { unreadable: d.unreadable } : {}), ...('damaged' in d ? { damaged: d.damaged } : {}) };
          }
          const ok = r.ok && (!digest || digest.matches);
          // Damage ended the walk: what it found before it is printed, with the damage (`damaged`); the command fails as for
          // other damage (exit 3, the reason on stderr, and with --json `error`, as a failure gives it), since 2026-11-28: until then only that.
          const failed = r.damaged ? { error: r.damaged.message } : {};
          // --all --json is JSON Lines: each finding a line, then the report on one line too.
          if (opts.all && o.json) o.out(stringify({ ...r, ok, digest, ...failed }, 0));
          else print({ ...r, ok, digest, ...failed }, () =>
            [
              `${r.eventsChecked} events in ${r.streamsChecked} streams, ${r.damaged ? walkDamaged(r.damaged, r.position) : `through position ${r.position ?? '0 (the log is empty)'}`}: ${r.ok ? 'every hash chain link holds' : `${r.streamsBroken} stream(s) broken, ${r.unreadableCount} event(s) unreadable${r.missingCount ? `, ${r.missingCount} run(s) of positions missing` : ''}`}`,
              // With --all every one was printed as it was found, above.
              ...(opts.all ? [] : [...r.breaks.map((b) => findingLine({ break: b })), ...r.unreadable.map((u) => findingLine({ unreadable: u })), ...r.missing.map((m) => findingLine({ missing: m }))]),
              ...(!opts.all && (r.breakCount > r.breaks.length || r.unreadableCount > r.unreadable.length || r.missingCount > r.missing.length) ? [`  (the first ${FINDINGS_LISTED} of each listed: --all prints every one)`] : []),
              ...(digest ? [`digest at position ${digest.position}: ${digest.matches ? 'matches' : digest.damaged ? 'NOT CHECKED (the store is damaged at or before it)' : digest.unreadable ? `DOES NOT MATCH (the event at position ${digest.unreadable}, at or before it, cannot be read: it was changed since)` : digest.actual === null ? `DOES NOT MATCH (the log now ends ${digest.head ? `at position ${digest.head}` : 'empty'}, before it: events at or before it have been removed)` : `DOES NOT MATCH (now ${digest.actual})`}`] : []),
              ...(r.damaged ? [r.damaged.message] : []),
            ].join('\n'),
          );
          if (r.damaged) {
            o.err(`ledger: ${r.damaged.message}\n`);
            return EXIT.failed;
          }
          return ok ? EXIT.done : EXIT.refused;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'digest', 'a digest of every stream head at a position, for an auditor to keep')
    .option('--at <position>', 'the position (default: the head of the store)', position)
    .action(
      run(async (opts: { at?: bigint }) => {
        const l = await openStore(env);
        try {
          const d = await digestAt(l.store, opts.at);
          print(d, () => `${d.digest}  position ${d.position} (${d.events} events, ${d.streams} streams)\nkeep it; check later with: ledger verify --digest ${d.digest} --at ${d.position}`);
          return EXIT.done;
        } finally {
          await l.close();
        }
      }),
    );

}

/** One finding of a verification, as `ledger verify` prints it. */
function findingLine(f: VerifyFinding): string {
  if ('break' in f) return `  ${f.break.stream}: ${f.break.kind} at revision ${f.break.revision} (position ${f.break.position})${f.break.reason ? `: ${f.break.reason}` : ''}`;
  if ('unreadable' in f) return `  ${f.unreadable.stream}: unreadable at revision ${f.unreadable.revision} (position ${f.unreadable.position}): ${f.unreadable.reason}`;
  const m = f.missing;
  return `  the log: ${m.from === m.to ? `position ${m.from} is` : `positions ${m.from} to ${m.to} are`} missing (events deleted)`;
}

function whatIfText(r: AuditWorkResults['what-if']): string {
  const rs = r.ruleSet === 'as recorded' ? 'their recorded rule sets' : `${r.ruleSet.id}@${r.ruleSet.version}`;
  const lines = [
    `${r.judged} decisions re-judged under ${rs}, through position ${r.position ?? '0 (the log is empty)'}: ${r.unchanged} unchanged, ${r.changed.rejectedToAccepted} rejected -> accepted, ${r.changed.acceptedToRejected} accepted -> rejected, ${r.changed.codeOnly} with another code`,
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
