import { getRuleSet, parseServiceRequest } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { replayDecision } from './replay';
import { whatIf } from './what-if';
import { verifyStore } from './tamper';

/** A store may hold events the ledger did not write (another tool's streams): audit reads past them. */

const NO_A = '90-B3-D5-1F-30-03-00-0A';
const ESME = '00-DB-12-34-56-78-90-01';
const MPAN = '1412345678901';
const ctx = { actor: 'test' };

describe('events the ledger does not know', () => {
  let store: SqliteEventStore;
  beforeEach(() => {
    store = new SqliteEventStore(':memory:');
  });
  afterEach(async () => {
    await store.dispose();
  });

  it('what-if and replay skip them; verify reports their missing chain', async () => {
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await ledger.registerUserRole({ userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
    await store.appendToStream('notes-1', [{ id: '00000000-0000-4000-8000-0000000000a1', type: 'Note', data: { text: 'not a ledger event' } }]);
    await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R1' }, ctx);
    await ledger.changeInventory({ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
    const { decision } = await ledger.submit(parseServiceRequest({ requestId: `${NO_A}:${ESME}:1`, srv: '4.1.1', receivedAt: '2024-03-01T00:00:00Z', format: 'json' }), ctx);
    expect(decision.responseCode).toBe('I0');
    expect(await whatIf(store, undefined)).toMatchObject({ judged: 1, unchanged: 1, notReproduced: 0 });
    expect(await whatIf(store, getRuleSet('ownership-only'))).toMatchObject({ judged: 1, unchanged: 1 });
    expect(await replayDecision(store, { ...decision, revisionsRead: { ...decision.revisionsRead, 'notes-1': '0' } })).toMatchObject({ identical: true, differences: [] });
    expect(await replayDecision(store, decision)).toMatchObject({ identical: true });
    const report = await verifyStore(store);
    expect(report).toMatchObject({ ok: false, eventsChecked: 5, streamsChecked: 4, breaks: [{ stream: 'notes-1', kind: 'missing-hash', revision: '0', position: '2' }] });
  });
});
