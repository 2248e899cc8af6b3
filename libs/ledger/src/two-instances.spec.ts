import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore, verifyLink, type EventStore } from '@ledger/event-store';
import { Ledger } from './ledger';
import { toLedgerEvent } from './streams';
import { ESME, MPAN, NO_A, NO_B, replaceNoCredentials } from './testing/one-esme';

/**
 * Two ledger instances on one store file (two processes, each with its own connection and its own
 * cache of folded streams): a command must read what the other instance wrote since, never decide
 * on its own cached fold alone.
 */

const ctx = { actor: 'test' };

/** Every link of the device stream's hash chain holds. */
async function chainIntact(store: EventStore): Promise<boolean> {
  let prev: { hash: string; revision: bigint } | undefined;
  for await (const e of store.readStream(`device-${ESME}`)) {
    if (verifyLink(prev, e)) return false;
    prev = { hash: e.metadata.$hash as string, revision: e.revision };
  }
  return prev !== undefined;
}

describe('two ledger instances on one store', () => {
  let dir: string;
  let first: SqliteEventStore;
  let second: SqliteEventStore;
  let one: Ledger;
  let two: Ledger;
  const replaceNo = (l: Ledger, sender: string, counter: number, receivedAt = '2024-03-01T00:00:00Z', owner = sender) => replaceNoCredentials(l, sender, counter, receivedAt, owner);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-two-'));
    first = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    second = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    one = new Ledger(first, getRuleSet('baseline'));
    two = new Ledger(second, getRuleSet('baseline'));
    await one.registerUserRole({ userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
    await one.registerUserRole({ userId: NO_B, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
    await one.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R1' }, ctx);
    await one.changeInventory({ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
    await one.placeCertificate({ deviceId: ESME, slot: 'networkOperator.critical', certificate: { serial: 'A1', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'migration' }, placedAt: '2019-06-01' }, ctx);
  });
  afterEach(async () => {
    await first.dispose();
    await second.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a certificate placed through one instance decides the next request through the other, whose fold is cached', async () => {
    expect((await replaceNo(two, NO_A, 1)).decision.responseCode).toBe('I0'); // two caches the device, the user and the meter point
    // a placement is in force from its placedAt (rule sets @2): the correction follows the accepted C1 (placed 2024-03-01)
    await one.placeCertificate({ deviceId: ESME, slot: 'networkOperator.critical', certificate: { serial: 'B1', issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'operatorCorrection', reference: 'OPS-1' }, placedAt: '2024-03-01T12:00:00Z' }, ctx);
    const after = await replaceNo(two, NO_A, 2, '2024-03-02T00:00:00Z');
    expect(after.decision).toMatchObject({ responseCode: 'E_CERT_OWNER', checks: [{}, {}, {}, {}, { evidence: { owner: NO_B } }] });
  });

  it('a change of NO and a suspension recorded through one instance are read by the other', async () => {
    expect((await replaceNo(two, NO_A, 1)).decision.responseCode).toBe('I0');
    await one.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_B, effectiveFrom: '2024-01-01', recordId: 'R2' }, ctx);
    expect((await replaceNo(two, NO_A, 2)).decision.responseCode).toBe('E4');
    await one.registerUserRole({ userId: NO_B, role: 'ED', status: 'Suspended', effectiveFrom: '2024-01-01' }, ctx);
    expect((await replaceNo(two, NO_B, 3)).decision.responseCode).toBe('E3');
  });

  it('a request stamped before another but judged after it is judged at the other\'s instant: its certificate is the one in force', async () => {
    // Stamped t1 < t2, judged t2 first (through two) and t1 second (through one): the t1 request hands the slot to NO_B.
    const t2 = await replaceNo(two, NO_A, 10, '2024-03-02T00:00:00Z');
    const t1 = await replaceNo(one, NO_A, 11, '2024-03-01T00:00:00Z', NO_B);
    expect(t2.decision.responseCode).toBe('I0');
    expect(t1.decision).toMatchObject({ responseCode: 'I0', request: { receivedAt: '2024-03-01T00:00:00.000Z' }, evaluatedAt: '2024-03-02T00:00:00.000Z' });
    expect(t1.placed.map((p) => p.placedAt)).toEqual(['2024-03-02T00:00:00.000Z']);
    // The slot as the last decision recorded left it: C11, NO_B's; NO_A no longer owns it.
    const next = await replaceNo(two, NO_A, 12, '2024-03-03T00:00:00Z');
    expect(next.decision).toMatchObject({ responseCode: 'E_CERT_OWNER', checks: [{}, {}, {}, {}, { evidence: { owner: NO_B } }] });
    // As recorded: the arrival and the instant judged at, both kept.
    const recorded: unknown[] = [];
    for await (const e of first.readStream(`device-${ESME}`)) if (e.type === 'ServiceRequestEvaluated') recorded.push(toLedgerEvent(e).data);
    expect(recorded[1]).toEqual(t1.decision);
  });

  it('decisions taken in turn by both instances on one device chain on each other, and a RequestID decided by one is answered by the other', async () => {
    for (let i = 1; i <= 6; i++) await replaceNo(i % 2 ? one : two, NO_A, i);
    const again = await replaceNo(one, NO_A, 2);
    expect(again.written).toBe(false);
    const revisions: bigint[] = [];
    for await (const e of first.readStream(`device-${ESME}`)) revisions.push(e.revision);
    expect(revisions).toEqual(revisions.map((_, i) => BigInt(i)));
    expect(revisions.length).toBe(2 + 6 * 2);
    expect(await chainIntact(first)).toBe(true);
  });

  it('both instances deciding at once on one device: every decision is recorded once, the chain is intact', async () => {
    await replaceNo(one, NO_A, 100);
    await replaceNo(two, NO_A, 101);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => replaceNo(i % 2 ? one : two, NO_A, 200 + i)));
    expect(results.every((r) => r.written)).toBe(true);
    const decisions: string[] = [];
    for await (const e of second.readStream(`device-${ESME}`)) if (e.type === 'ServiceRequestEvaluated') decisions.push((toLedgerEvent(e).data as { request: { requestId: string } }).request.requestId);
    expect(decisions.length).toBe(12);
    expect(new Set(decisions).size).toBe(12);
    expect(await chainIntact(second)).toBe(true);
  });
});
