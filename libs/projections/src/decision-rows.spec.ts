import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ServiceRequestEvaluatedV1 } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { ReadModelRowError } from './decision-rows';
import { openReadModels, type ProjectionWriter } from './processor';
import { queriesOf } from './queries';

/** The decisions read model keeps what its queries need: columns, and the rest of the stored form; never the decision twice. */

const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const ESME = '00-DB-12-34-56-78-90-01';
const AT = '2024-03-01T12:00:00.000Z';
const check = (step: number, check: string, reason: string, evidence: Record<string, unknown> = {}) => ({ step, check, outcome: step === 5 ? 'skipped' : 'pass', reason, evidence });
const decision = (counter: number): ServiceRequestEvaluatedV1 =>
  ({
    schemaVersion: 1,
    request: { requestId: `${SUPPLIER}:${ESME}:${counter}`, originator: SUPPLIER, target: ESME, counter: String(counter), srv: '4.1.1', certificates: [], receivedAt: AT, format: 'json', signatureVerified: false },
    ruleSet: { id: 'baseline', version: 2 },
    senderRole: 'IS',
    checks: [
      check(1, 'user-role', `User ${SUPPLIER} holds role IS (derived from the roles held, the signing certificate and the fuel)`, { userId: SUPPLIER, role: 'IS', status: 'Active', derivedBy: 'derived from the roles held, the signing certificate and the fuel' }),
      check(2, 'srv-eligibility', 'role IS is eligible for SRV 4.1.1 (Read Instantaneous Import Registers)', { srv: '4.1.1', role: 'IS', critical: false, nonDevice: false, futureDating: 'DSP' }),
      check(3, 'device', 'ESME (SMETS2) is Commissioned', { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 2, status: 'Commissioned', mpxn: '1412345678901' }),
      check(4, 'registration-data', `${SUPPLIER} is the registered supplier of 1412345678901 at ${AT}`, {
        mpxn: '1412345678901',
        responsibility: 'supplier',
        userId: SUPPLIER,
        basis: 'timeOfCheck',
        at: AT,
        registered: { partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00.000Z', recordId: 'R1' },
      }),
      check(5, 'certificate-ownership', 'not a critical request'),
    ],
    outcome: 'accepted',
    responseCode: 'I0',
    evaluatedAt: AT,
    revisionsRead: { [`user-${SUPPLIER}`]: '0', [`device-${ESME}`]: '0', 'meterpoint-1412345678901': '1' },
  }) as ServiceRequestEvaluatedV1;
const recorded = (position: number, data: unknown): RecordedEvent => ({ id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`, type: 'ServiceRequestEvaluated', stream: `device-${ESME}`, revision: BigInt(position - 1), position: BigInt(position), data, metadata: {}, created: AT });

describe('the decisions read model', () => {
  let dir: string;
  let rm: ProjectionWriter;
  const decisions = () => queriesOf(rm).decisions;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-decision-rows-'));
    rm = openReadModels(path.join(dir, 'readmodels.sqlite'));
  });
  afterAll(() => {
    rm.db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a decision of version 1 as its stored form less the columns, and gives it back exactly', () => {
    const d = decision(1);
    rm.applyBatch([recorded(1, d)], { after: rm.checkpoint.get().position });
    const row = rm.db.db.prepare('SELECT data FROM decisions WHERE request_id = ?').get(d.request.requestId) as { data: string };
    expect(JSON.parse(row.data)).toEqual({ senderRole: 'IS', revisionsRead: [0, 0, 1], checks: ['pass', 'pass', ['pass', 'ESME', 2, 'Commissioned', '1412345678901'], ['pass', '2019-01-01T00:00:00Z', 'R1'], 'nc'] });
    expect(JSON.stringify(decisions().decision(d.request.requestId)!.decision)).toBe(JSON.stringify(d));
  });

  it('keeps whole a decision its stored form would not give back, and reads a row written whole by earlier code', () => {
    const odd = { ...decision(2), outcome: 'rejected' as const };
    rm.applyBatch([recorded(2, odd)], { after: rm.checkpoint.get().position });
    expect(decisions().decision(odd.request.requestId)!.decision).toEqual(odd);
    const earlier = decision(3);
    rm.db.db.prepare("INSERT INTO decisions (ord, request_id, device_id, originator, srv, outcome, response_code, rule_set, received_at, evaluated_at, position, data) VALUES (99, ?, ?, ?, '4.1.1', 'accepted', 'I0', 'baseline@2', ?, ?, '99', ?)").run(earlier.request.requestId, ESME, SUPPLIER, AT, AT, JSON.stringify(earlier));
    expect(decisions().decisions({ deviceId: ESME }).items.map((r) => r.decision)).toEqual([decision(1), odd, earlier]);
  });

  it('a row that does not give back its decision (a damaged read-model file) is a ReadModelRowError naming the row and saying to rebuild, not a domain error', () => {
    const d = decision(4);
    rm.applyBatch([recorded(4, d)], { after: rm.checkpoint.get().position });
    rm.db.db.prepare("UPDATE decisions SET data = json_set(data, '$.checks[3]', json('[\"pass\", \"garbage\", \"garbage\"]')) WHERE request_id = ?").run(d.request.requestId);
    const thrown = (() => {
      try {
        decisions().decision(d.request.requestId);
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).toBeInstanceOf(ReadModelRowError);
    expect((thrown as Error).message).toMatch(new RegExp(`decisions row of ${d.request.requestId} \\(position 4\\) does not give back its decision \\(.*garbage.*\\).*rebuild`));
    expect(() => decisions().decisions({ deviceId: ESME })).toThrow(ReadModelRowError);
  });
});
