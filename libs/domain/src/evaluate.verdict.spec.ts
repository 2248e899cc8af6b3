import { evaluate, verdict } from './evaluate';
import { RULE_SETS } from './rule-sets';
import { decided, rows, world } from './testing/decision-cases';
import { NOW, request } from './testing/scenario';

/**
 * verdict() is evaluate() without the why: for every branch of evaluate() (a row per template of
 * the stored form: testing/decision-cases.ts) under every rule set, the same outcome and response
 * code. The what-if's spec holds the two to the same answers over a whole generated estate.
 */
describe('the verdict of a request', () => {
  const judged = rows.flatMap((row) => RULE_SETS.map((rs) => [`${row.case}, under ${rs.id}@${rs.version}`, row, rs] as const));

  it.each(judged)('%s: the outcome and code evaluate() gives', (_case, row, rs) => {
    const w = world(row.extra);
    const req = request(row.spec);
    const device = w.devices.get(req.requestId.target);
    const state = { sender: w.users.get(req.requestId.originator), device, meterPoint: device?.mpxn ? w.meterPoints.get(device.mpxn) : undefined, revisionsRead: {} };
    let whole;
    try {
      whole = evaluate(req, state, rs, NOW).decision.data;
    } catch (err) {
      // An SRV the rule set does not judge (edition 1's catalogue): refused the same way.
      expect(() => verdict(req, state, rs, NOW)).toThrow((err as Error).message);
      return;
    }
    expect(verdict(req, state, rs, NOW)).toEqual({ outcome: whole.outcome, responseCode: whole.responseCode });
  });

  it('meets every response code and both outcomes, and an SRV a rule set does not judge', () => {
    const codes = new Set(rows.map((row) => decided(row).responseCode));
    expect([...codes].sort()).toEqual(['E1', 'E11', 'E19', 'E2', 'E3', 'E4', 'E5', 'E_CERT_OWNER', 'E_NOT_FUTURE_DATABLE', 'I0', 'I99']);
    const w = world();
    expect(() => verdict(request({ from: rows[0].spec.from, to: rows[0].spec.to, srv: '5.1' }), { sender: undefined, device: w.devices.get(rows[0].spec.to), meterPoint: undefined, revisionsRead: {} }, RULE_SETS[0], NOW)).toThrow(
      'SRV 5.1 is not judged under rule set baseline@1',
    );
  });
});
