import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, parseServiceRequest } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { MPAN, NO_A, NO_B } from '../../ledger/src/testing/one-esme';
import { replayDecision } from './replay';
import { whatIf } from './what-if';

const ctx = { actor: 'test' };
const X = '90-B3-D5-1F-30-01-00-0C'; // holds IS and ED, the registered supplier
const device = (n: number) => `00-DB-12-34-56-78-90-1${n}`;
const cert = (serial: string, owner: string, issuer = 'CN=CA', roleCode = '03') => ({ serial, issuer, ownerUserId: owner, roleCode, keyUsage: 'digitalSignature' });

/**
 * Rule sets @5 (2026-11-28, twentieth session) through the ledger. Six SMETS1 ESMEs on one MPAN (NO-A
 * its registered NO, X its registered supplier), each with a 6.15.1 replacing NetworkOperator
 * credentials recorded under registered-operator@4. Every decision replays identically under the
 * rule set it records; a what-if under registered-operator@5 finds changed exactly the five cases
 * edition 5 judges otherwise, and under baseline@5 the three that are not registered-operator's.
 */
const CASES = [
  // [device, what its NO critical slot holds, sender, role, certificates carried, recorded code, code under registered-operator@5, under baseline@5]
  { n: 1, case: '1: one certificate, its issuer spelt two ways in the two copies', slot: [['DSP', cert('A1', NO_A, 'CN=Test CA,O=X')], ['S1SP', cert('A1', NO_A, 'CN=Test CA, O=X')]], from: NO_A, role: 'ED', carrying: [cert('C1', NO_A)], at4: 'E_CERT_OWNER', ro5: 'I0', base5: 'I0' },
  { n: 2, case: 'A: a supplier replacing NetworkOperator credentials', slot: [['DSP+S1SP', cert('E1', X)]], from: X, role: 'IS', carrying: [cert('C2', X)], at4: 'I0', ro5: 'E_CERT_OWNER', base5: 'E_CERT_OWNER' },
  { n: 3, case: 'D: certificates of another role code', slot: [['DSP+S1SP', cert('A3', NO_A)]], from: NO_A, role: 'ED', carrying: [cert('C3', NO_A, 'CN=CA', '02')], at4: 'I0', ro5: 'E_CERT_OWNER', base5: 'E_CERT_OWNER' },
  { n: 4, case: 'F: the registered NO, no certificate held', slot: [], from: NO_A, role: 'ED', carrying: [cert('C4', NO_A)], at4: 'E_CERT_OWNER', ro5: 'I0', base5: 'E_CERT_OWNER' },
  { n: 5, case: 'G: the registered NO, the copies disagreeing', slot: [['DSP', cert('B5', NO_B)], ['S1SP', cert('B6', NO_B)]], from: NO_A, role: 'ED', carrying: [cert('C5', NO_A)], at4: 'E_CERT_OWNER', ro5: 'I0', base5: 'E_CERT_OWNER' },
  { n: 6, case: 'the registered NO, the owner: no change', slot: [['DSP+S1SP', cert('A7', NO_A)]], from: NO_A, role: 'ED', carrying: [cert('C6', NO_A)], at4: 'I0', ro5: 'I0', base5: 'I0' },
] as const;

describe('rule sets @5 through the ledger: decisions recorded under @4 replay as recorded; a what-if under @5 changes the five cases only', () => {
  let dir: string;
  let store: SqliteEventStore;
  const decisions: Record<number, Awaited<ReturnType<Ledger['submit']>>['decision']> = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-edition5-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('registered-operator@4'));
    for (const [userId, role] of [[NO_A, 'ED'], [NO_B, 'ED'], [X, 'IS'], [X, 'ED']]) await ledger.registerUserRole({ userId, role, effectiveFrom: '2019-01-01' }, ctx);
    await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R1' }, ctx);
    await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'supplier', partyUserId: X, effectiveFrom: '2019-01-01', recordId: 'R2' }, ctx);
    for (const c of CASES) {
      await ledger.changeInventory({ deviceId: device(c.n), deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
      for (const [heldBy, certificate] of c.slot) {
        await ledger.placeCertificate({ deviceId: device(c.n), slot: 'networkOperator.critical', certificate, heldBy: heldBy.split('+'), via: { kind: 'migration' }, placedAt: '2019-06-01' }, ctx);
      }
      const request = parseServiceRequest({
        requestId: `${c.from}:${device(c.n)}:${c.n}`,
        srv: '6.15.1',
        role: c.role,
        remotePartyRole: 'NetworkOperator',
        certificates: [...c.carrying],
        receivedAt: '2024-03-01T00:00:00Z',
        format: 'json',
      });
      decisions[c.n] = (await ledger.submit(request, ctx)).decision;
    }
  });
  afterAll(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(CASES.map((c) => [c.case, c] as const))('%s: recorded under @4 as it was judged, replayed identically; under @5 as edition 5 judges it', async (_case, c) => {
    const decision = decisions[c.n];
    expect(decision).toMatchObject({ ruleSet: { id: 'registered-operator', version: 4 }, responseCode: c.at4 });
    expect(await replayDecision(store, decision)).toMatchObject({ identical: true, differences: [] });
    expect((await replayDecision(store, decision, getRuleSet('registered-operator@5'))).replayed.responseCode).toBe(c.ro5);
    expect((await replayDecision(store, decision, getRuleSet('baseline@5'))).replayed.responseCode).toBe(c.base5);
  });

  it('a what-if under @5 over the store reports exactly those cases as changed', async () => {
    expect(await whatIf(store, undefined)).toMatchObject({ judged: 6, notReproduced: 0 });
    expect(await whatIf(store, getRuleSet('registered-operator@4'))).toMatchObject({ judged: 6, unchanged: 6 });
    const changedUnder = async (ruleSet: string) => {
      const report = await whatIf(store, getRuleSet(ruleSet));
      return { ruleSet: report.ruleSet, judged: report.judged, changed: report.changed, changes: report.changes.items.map((i) => i.requestId).sort() };
    };
    const id = (n: number) => `${CASES[n - 1].from}:${device(n)}:${n}`;
    expect(await changedUnder('registered-operator@5')).toEqual({
      ruleSet: { id: 'registered-operator', version: 5 },
      judged: 6,
      changed: { rejectedToAccepted: 3, acceptedToRejected: 2, codeOnly: 0 },
      changes: [1, 2, 3, 4, 5].map(id).sort(),
    });
    expect(await changedUnder('baseline@5')).toEqual({ ruleSet: { id: 'baseline', version: 5 }, judged: 6, changed: { rejectedToAccepted: 1, acceptedToRejected: 2, codeOnly: 0 }, changes: [1, 2, 3].map(id).sort() });
    expect(await changedUnder('baseline@4')).toEqual({ ruleSet: { id: 'baseline', version: 4 }, judged: 6, changed: { rejectedToAccepted: 0, acceptedToRejected: 0, codeOnly: 0 }, changes: [] });
  });
});
