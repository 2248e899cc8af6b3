import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, parseServiceRequest } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { StuckReports } from '@ledger/audit';
import { openReadModels, Projector } from '../processor';
import type { DeviceQueries } from './device-queries';
import { queriesOf } from './queries-of';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../../../ledger/src/testing/one-esme';

const ctx = { actor: 'test' };
const EXECUTES = '2099-01-01T00:00:00.000Z';
const BEFORE = '2024-03-02T00:00:00.000Z';
const AFTER = '2099-06-01T00:00:00.000Z';

/**
 * A stuck SMETS1 ESME (NO-B's certificate, NO-A registered). Under ownership-only@2, NO-B (the
 * owner) sends 6.15.1 with NO-A's certificates, future dated: accepted (I99), placed in 2099.
 */
describe('read models show a future-dated credential change as pending until its execution time', () => {
  let dir: string;
  let store: SqliteEventStore;
  let projector: Projector;
  let devices: DeviceQueries;
  let stuck: StuckReports;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-pending-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('ownership-only'));
    projector = new Projector(store, openReadModels(path.join(dir, 'readmodels.sqlite')), { batchSize: 10 });
    const queries = queriesOf(projector.writer);
    devices = queries.devices;
    stuck = new StuckReports(queries);
    await recordOneEsme(ledger, NO_B, ctx);
    const repair = await ledger.submit(
      parseServiceRequest({
        requestId: `${NO_B}:${ESME}:1`,
        srv: '6.15.1',
        remotePartyRole: 'NetworkOperator',
        executionDateTime: EXECUTES,
        certificates: [{ serial: 'A1', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }],
        receivedAt: '2024-03-01T00:00:00Z',
        format: 'json',
      }),
      ctx,
    );
    expect(repair.decision).toMatchObject({ responseCode: 'I99', ruleSet: { id: 'ownership-only', version: 5 } });
    projector.start();
    expect(await projector.waitFor(BigInt(repair.position))).toBe(true);
  });
  afterAll(async () => {
    await projector.stop();
    projector.writer.db.close();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the device view holds the certificate in force now and lists the pending change', () => {
    const device = devices.device(ESME, undefined, BEFORE)!;
    expect(device.slots['networkOperator.critical']?.DSP?.certificate.ownerUserId).toBe(NO_B);
    expect(device.pending?.map((p) => [p.slot, p.certificate.ownerUserId, p.placedAt])).toEqual([['networkOperator.critical', NO_A, EXECUTES]]);
    expect(devices.device(ESME, undefined, AFTER)!).not.toHaveProperty('pending');
    expect(devices.device(ESME, undefined, AFTER)!.slots['networkOperator.critical']?.DSP?.certificate.ownerUserId).toBe(NO_A);
  });

  it('the history marks the placement pending before its time, not after it', () => {
    const certs = (now: string) => devices.timelineOf(ESME, undefined, now)!.timeline.filter((h) => h.kind === 'certificate').map((h) => [h.owner, h.pending ?? false]);
    expect(certs(BEFORE)).toEqual([[NO_B, false], [NO_A, true]]);
    expect(certs(AFTER)).toEqual([[NO_B, false], [NO_A, false]]);
  });

  it('the stuck report: stuck now, with the repair pending; not stuck after it executes', () => {
    expect(stuck.asOf(BEFORE)).toEqual([
      expect.objectContaining({ stuck: true, certificateOwner: NO_B, registeredOperator: NO_A, pending: [expect.objectContaining({ owner: NO_A, placedAt: EXECUTES })] }),
    ]);
    expect(stuck.asOf(AFTER)).toEqual([]);
  });
});
