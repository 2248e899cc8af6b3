import { Command } from 'commander';
import { getRuleSet, parseDeviceId, parseInstant } from '@ledger/domain';
import { parseActor } from '@ledger/runtime';
import { CliError, EXIT, open, ruleSetOption, type Kit } from '../support';

/** Reports from the read models: stuck devices, proxy disagreements, a device's history. */
export function reportCommands(program: Command, { env, o, command, run, print }: Kit): void {
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
          const devices = l.stuckReports.asOf(at, ruleSet, (ruleSet ?? l.config.ruleSet).edition); // stuck as the rule set asked, else LEDGER_RULE_SET's, judges the copies
          const repairable = devices.filter((d) => d.repairable).length;
          const body = { at, ruleSet: ruleSet ? { id: ruleSet.id, version: ruleSet.version } : null, count: devices.length, ...(ruleSet ? { repairable } : {}), devices };
          print(body, () =>
            [
              `${devices.length} stuck SMETS1 device(s) at ${at}${ruleSet ? `; under ${ruleSet.id}, ${repairable} repairable, ${devices.length - repairable} not` : ''}`,
              ...devices.slice(0, 20).map((d) => {
                const how = d.repairs?.filter((r) => r.accepted).map((r) => `the ${r.who} (${r.userId}) as ${r.role} with ${r.srv} carrying ${r.carrying}`);
                const spelt = d.issuerSpeltTwoWays ? ', one certificate, its issuer spelt two ways: a disagreement under rule sets @1-@4' : '';
                const copies = d.copiesDisagree ? ` (its proxy copies disagree${d.copyOwners ? `: DSP ${d.copyOwners.DSP}, S1SP ${d.copyOwners.S1SP}` : ''}${spelt})` : '';
                return `  ${d.deviceId} ${d.mpxn}: NO certificate of ${d.certificateOwner}${copies}, registered NO ${d.registeredOperator}, since ${d.since}${how ? ` -> ${how.length ? `repairable by ${how.join('; or ')}` : 'nobody can repair it'}` : ''}`;
              }),
              ...(devices.length > 20 ? [`  ... and ${devices.length - 20} more (--json for all)`] : []),
            ].join('\n'),
          );
          return EXIT.done;
        } finally {
          await l.close();
        }
      }),
    );
  command(report, 'proxy-disagreements', 'notified certificate records whose DSP and S1SP copies differ')
    .option('--at <instant>', 'the copies in force then (default: now)')
    .action(
      run(async (opts: { at?: string }) => {
        const at = opts.at ? parseInstant(opts.at, '--at') : new Date().toISOString();
        const l = await open(env, o);
        try {
          const records = l.disagreements.records(at);
          const copy = (h: { certificate: { serial: string; ownerUserId: string } } | null) => (h ? `${h.certificate.ownerUserId} (serial ${h.certificate.serial})` : 'none');
          const spelt = records.filter((r) => r.issuerSpeltTwoWays).length;
          print({ at, count: records.length, issuerSpeltTwoWays: spelt, records }, () =>
            [`${records.length} notified certificate record(s) whose DSP and S1SP copies disagree at ${at}${spelt ? ` (${spelt} of them one certificate, issuer spelt two ways)` : ''}`, ...records.map((r) => `  ${r.deviceId} ${r.slot}: DSP ${copy(r.dsp)}, S1SP ${copy(r.s1sp)}, since ${r.since}${r.issuerSpeltTwoWays ? ' (one certificate, its issuer spelt two ways: a disagreement under rule sets @1-@4, none from @5)' : ''}`)].join('\n'),
          );
          return EXIT.done;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'history', "a device's inventory, certificates and decisions, each with who recorded it")
    .argument('<deviceId>', 'the device EUI-64')
    .option('--actor <actor>', 'its entries recorded by that actor only (api:<role>:<id>[:<name>], cli:submit, ...; api:<role>:<id> matches that key under every name, its id alone under every role and name)')
    .action(
      run(async (id: string, opts: { actor?: string }) => {
        const deviceId = parseDeviceId(id, 'deviceId');
        const actor = opts.actor === undefined ? undefined : parseActor(opts.actor, '--actor');
        const l = await open(env, o);
        try {
          const history = l.devices.timelineOf(deviceId, actor);
          if (!history) throw new CliError(`device ${deviceId} is not known to the ledger`);
          const { timeline } = history;
          const unknown = 'actorUnknown' in history ? history.actorUnknown : undefined;
          const by = (h: Record<string, unknown>) => `  by ${h.actorUnknown ? '(not known: projected by an earlier build; rebuild)' : (h.actor ?? '(none recorded)')}`;
          print(history, () =>
            [
              ...timeline.map(
                (h) =>
                  (h.kind === 'certificate'
                    ? `${h.placedAt}  certificate ${h.slot} of ${h.owner} (serial ${h.serial}) placed by ${h.via}${h.reference ? ` ${h.reference}` : ''}`
                    : h.kind === 'decision'
                      ? `${h.receivedAt}  ${h.srv} from ${h.originator}: ${h.outcome} ${h.responseCode} (${h.ruleSet})  ${h.requestId}`
                      : `${h.changedAt}  inventory: ${h.deviceType} SMETS${h.smetsGeneration} ${h.status} serving ${h.mpxn}`) + by(h),
              ),
              ...(timeline.length === 0 ? [`no entries recorded by ${actor}`] : []),
              ...(unknown ? [unknown.why] : []),
            ].join('\n'),
          );
          return EXIT.done;
        } finally {
          await l.close();
        }
      }),
    );

}
