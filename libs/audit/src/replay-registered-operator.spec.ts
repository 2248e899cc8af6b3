import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, parseServiceRequest } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../../ledger/src/testing/one-esme';
import { replayDecision } from './replay';
import { whatIf } from './what-if';

const ctx = { actor: 'test' };
const X = '90-B3-D5-1F-30-01-00-0C';

/**
 * Rule sets @4 (2026-11-27, fifteenth session) give registered-operator's override to the
 * registered network operator only. Under @3 a User X holding IS and ED, the registered supplier
 * of the ESME's MPAN (NO-A its registered NO, NO-B's certificate on the ESME), replaced NO-B's
 * credentials with its own sending 6.15.1 as IS: I0, recorded. That decision replays identically
 * under the rule set it records; a what-if under registered-operator@4 finds it changed (refused
 * E_CERT_OWNER, as under baseline), and the registered NO's own repair unchanged.
 */
describe('registered-operator@4 through the ledger: a decision recorded under @3 replays as recorded', () => {
  let dir: string;
  let store: SqliteEventStore;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-registered-operator-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('registered-operator@3'));
    await recordOneEsme(ledger, NO_B, ctx); // stuck: NO-B's certificate, NO-A registered
    await ledger.registerUserRole({ userId: X, role: 'IS', effectiveFrom: '2019-01-01' }, ctx);
    await ledger.registerUserRole({ userId: X, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
    await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'supplier', partyUserId: X, effectiveFrom: '2019-01-01', recordId: 'R2' }, ctx);
  });
  afterAll(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const replaceNo = (from: string, counter: number, role: string, receivedAt: string) =>
    parseServiceRequest({
      requestId: `${from}:${ESME}:${counter}`,
      srv: '6.15.1',
      role,
      remotePartyRole: 'NetworkOperator',
      certificates: [{ serial: `C${counter}`, issuer: 'CN=CA', ownerUserId: from, roleCode: '03', keyUsage: 'digitalSignature' }],
      receivedAt,
      format: 'json',
    });

  it('recorded under @3: I0; replayed under it, identical; under registered-operator@4, refused as under baseline', async () => {
    const { decision } = await new Ledger(store, getRuleSet('registered-operator@3')).submit(replaceNo(X, 1, 'IS', '2024-03-01T00:00:00Z'), ctx);
    expect(decision).toMatchObject({ ruleSet: { id: 'registered-operator', version: 3 }, senderRole: 'IS', outcome: 'accepted', responseCode: 'I0' });

    expect(await replayDecision(store, decision)).toMatchObject({ identical: true, differences: [], ruleSet: { id: 'registered-operator', version: 3 } });
    const at4 = await replayDecision(store, decision, getRuleSet('registered-operator@4'));
    expect(at4).toMatchObject({ identical: false, replayed: { outcome: 'rejected', responseCode: 'E_CERT_OWNER' } });
    const asBaseline = await replayDecision(store, decision, getRuleSet('baseline@4'));
    expect(at4.replayed.checks).toEqual(asBaseline.replayed.checks);

    expect(await whatIf(store, undefined)).toMatchObject({ judged: 1, notReproduced: 0 });
    expect(await whatIf(store, getRuleSet('registered-operator@3'))).toMatchObject({ judged: 1, unchanged: 1 });
    expect(await whatIf(store, getRuleSet('registered-operator@4'))).toMatchObject({
      ruleSet: { id: 'registered-operator', version: 4 },
      judged: 1,
      unchanged: 0,
      changed: { rejectedToAccepted: 0, acceptedToRejected: 1, codeOnly: 0 },
      byCode: { 'I0 -> E_CERT_OWNER': 1 },
      changes: { total: 1, items: [{ requestId: `${X}:${ESME}:1`, recorded: { responseCode: 'I0' }, replayed: { outcome: 'rejected', responseCode: 'E_CERT_OWNER' } }] },
    });
  });

  it("the registered NO's own override, recorded under @4 (the default until @5), replays identically and is unchanged under @3", async () => {
    const { decision } = await new Ledger(store, getRuleSet('registered-operator@4')).submit(replaceNo(NO_A, 2, 'ED', '2024-03-02T00:00:00Z'), ctx);
    expect(decision).toMatchObject({ ruleSet: { id: 'registered-operator', version: 4 }, senderRole: 'ED', outcome: 'accepted', responseCode: 'I0' });
    expect(decision.checks[4]).toMatchObject({ outcome: 'pass', evidence: { override: 'registered-operator', owner: X } });
    expect(await replayDecision(store, decision)).toMatchObject({ identical: true, differences: [] });
    expect(await replayDecision(store, decision, getRuleSet('registered-operator@3'))).toMatchObject({ identical: true });
    expect(await whatIf(store, undefined)).toMatchObject({ judged: 2, notReproduced: 0 });
  });
});
