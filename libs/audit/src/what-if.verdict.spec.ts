import { evaluate, judgesSrv, requestFromRecord, RULE_SETS, verdict, type DeviceState, type MeterPointState, type ServiceRequestEvaluatedV1, type UserState } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { evolveFor, readEvent, stateAt } from './stream-folds';

/**
 * A what-if under another rule set judges by verdict() (outcome and code only), not evaluate():
 * over a whole generated estate, every decision judged again under every rule set on the states
 * it read gets from both the same outcome and code (evaluate.verdict.spec.ts holds them to it
 * branch by branch).
 */
describe('the verdict over a whole estate', () => {
  it('is what evaluate() decides, for every decision under every rule set', async () => {
    const store = new SqliteEventStore(':memory:');
    try {
      await runDemo(new Ledger(store, RULE_SETS.find((r) => r.id === 'baseline' && r.edition === 2)!), { devices: 150, wrongNoShare: 0.3, smets1Share: 0.6, seed: 7 });
      const folds = new Map<string, { state: unknown; revision: bigint }>();
      const stateOf = async (stream: string, revision: string | null) => {
        if (revision === null) return undefined;
        const held = folds.get(stream);
        return held?.revision === BigInt(revision) ? held.state : stateAt(store, stream, evolveFor(stream)!, BigInt(revision));
      };
      let judged = 0;
      const outcomes = new Set<string>();
      for await (const e of store.readAll()) {
        const event = readEvent(e, {})!;
        if (event.type === 'ServiceRequestEvaluated') {
          const d: ServiceRequestEvaluatedV1 = event.data;
          const meterPoint = Object.keys(d.revisionsRead).find((s) => s.startsWith('meterpoint-'));
          const state = {
            sender: (await stateOf(`user-${d.request.originator}`, d.revisionsRead[`user-${d.request.originator}`] ?? null)) as UserState | undefined,
            device: (await stateOf(`device-${d.request.target}`, d.revisionsRead[`device-${d.request.target}`] ?? null)) as DeviceState | undefined,
            meterPoint: (meterPoint ? await stateOf(meterPoint, d.revisionsRead[meterPoint]) : undefined) as MeterPointState | undefined,
            revisionsRead: d.revisionsRead,
          };
          for (const rs of RULE_SETS) {
            if (!judgesSrv(d.request.srv, rs)) continue;
            const whole = evaluate(requestFromRecord(d.request), state, rs, d.evaluatedAt).decision.data;
            expect(verdict(requestFromRecord(d.request), state, rs, d.evaluatedAt)).toEqual({ outcome: whole.outcome, responseCode: whole.responseCode });
            outcomes.add(`${rs.id}@${rs.version} ${whole.responseCode}`);
            judged++;
          }
        }
        const evolve = evolveFor(e.stream);
        if (evolve) folds.set(e.stream, { state: evolve(folds.get(e.stream)?.state, event), revision: e.revision });
      }
      expect(judged).toBeGreaterThan(1000);
      // Each rule set accepts some and refuses some, for more than one reason.
      for (const rs of RULE_SETS) expect([...outcomes].filter((o) => o.startsWith(`${rs.id}@${rs.version} `)).length).toBeGreaterThan(2);
      expect(new Set([...outcomes].map((o) => o.split(' ')[1]))).toEqual(new Set(['I0', 'E4', 'E5', 'E_CERT_OWNER']));
    } finally {
      await store.dispose();
    }
  });
});
