import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, ledgerEventOf, type ServiceRequestEvaluatedV1 } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { ESME, NO_A, NO_B, recordOneEsme, replaceNoCredentials } from '../../ledger/src/testing/one-esme';
import { replayDecision } from './replay';
import { whatIf } from './what-if';

/**
 * A request stamped before another but judged after it is judged at the other's instant (its
 * `evaluatedAt` later than its `receivedAt`): replay and what-if judge it at its recorded
 * `evaluatedAt`, so it replays as recorded.
 */
describe('a decision judged later than its request was received', () => {
  let dir: string;
  let store: SqliteEventStore;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-judged-late-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_A);
    await replaceNoCredentials(ledger, NO_A, 2, '2024-03-02T00:00:00Z');
    await replaceNoCredentials(ledger, NO_A, 1, '2024-03-01T00:00:00Z', NO_B); // stamped first, judged second: at 2024-03-02
    await replaceNoCredentials(ledger, NO_A, 3, '2024-03-03T00:00:00Z'); // E_CERT_OWNER: C1, NO_B's, is in force
  });
  afterAll(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('replays exactly, each decision at its recorded evaluatedAt', async () => {
    const recorded: ServiceRequestEvaluatedV1[] = [];
    for await (const e of store.readStream(`device-${ESME}`)) if (e.type === 'ServiceRequestEvaluated') recorded.push(ledgerEventOf(e.stream, e.type, e.data)!.data as ServiceRequestEvaluatedV1);
    expect(recorded.map((d) => [d.request.counter, d.request.receivedAt, d.evaluatedAt, d.responseCode])).toEqual([
      ['2', '2024-03-02T00:00:00.000Z', '2024-03-02T00:00:00.000Z', 'I0'],
      ['1', '2024-03-01T00:00:00.000Z', '2024-03-02T00:00:00.000Z', 'I0'],
      ['3', '2024-03-03T00:00:00.000Z', '2024-03-03T00:00:00.000Z', 'E_CERT_OWNER'],
    ]);
    for (const d of recorded) expect((await replayDecision(store, d)).differences).toEqual([]);
    expect(await whatIf(store, undefined)).toMatchObject({ judged: 3, unchanged: 3, notReproduced: 0 });
  });
});
