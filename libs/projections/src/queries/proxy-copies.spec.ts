import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { ProxyDisagreementReport } from '@ledger/audit';
import { openReadModels, Projector } from '../processor';
import type { DeviceQueries } from './device-queries';
import { queriesOf } from './queries-of';
import { ESME, NO_A, recordOneEsme } from '../../../ledger/src/testing/one-esme';

const ctx = { actor: 'test' };
const NOW = '2024-03-01T00:00:00.000Z';

/**
 * The views of the proxy copies compare issuer names as the domain does (sameCertificateByName):
 * the same certificate placed as JSON in the DSP copy and with the X.509 library's rendering of its
 * issuer in the S1SP copy agrees in the device view (`copiesDisagree`), in the history (each
 * placement's `identity`, which the console's timeline compares) and in the report, each saying
 * that its issuer is spelt two ways (a disagreement under rule sets @1 to @4: the device view's
 * `issuerSpeltTwoWays`, the report's flag); another certificate in the S1SP copy disagrees in all
 * three.
 */
describe("the device view, its history and the report compare the proxy copies' issuers as names", () => {
  let dir: string;
  let store: SqliteEventStore;
  let projector: Projector;
  let devices: DeviceQueries;
  let report: ProxyDisagreementReport;
  let ledger: Ledger;
  const place = (serial: string, issuer: string, heldBy: string[], placedAt: string) =>
    ledger.placeCertificate({ deviceId: ESME, slot: 'networkOperator.nonCritical', certificate: { serial, issuer, ownerUserId: NO_A, roleCode: '03', keyUsage: 'keyAgreement' }, heldBy, via: { kind: 'operatorCorrection', reference: `OPS-${placedAt}` }, placedAt }, ctx);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-proxy-copies-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    ledger = new Ledger(store, getRuleSet('baseline'));
    projector = new Projector(store, openReadModels(path.join(dir, 'readmodels.sqlite')), { batchSize: 10 });
    const queries = queriesOf(projector.writer);
    devices = queries.devices;
    report = new ProxyDisagreementReport(queries);
    await recordOneEsme(ledger, NO_A, ctx);
    await place('E1', 'CN=Test CA,O=X', ['DSP'], '2020-01-01');
    await place('E1', 'CN=Test CA, O=X', ['S1SP'], '2020-01-01');
    await place('E2', 'CN=Test CA, O=X', ['S1SP'], '2022-01-01');
    projector.start();
    expect(await projector.waitFor((await store.headPosition())!)).toBe(true);
  });
  afterAll(async () => {
    await projector.stop();
    projector.writer.db.close();
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('agree while both copies hold K1, its issuer spelt two ways (flagged as such: a disagreement under @1-@4); disagree once the S1SP copy holds E2', () => {
    const then = devices.device(ESME, '2021-01-01T00:00:00.000Z')!;
    expect(then).not.toHaveProperty('copiesDisagree');
    expect(then.issuerSpeltTwoWays).toEqual(['networkOperator.nonCritical']);
    expect(devices.device(ESME, undefined, NOW)).not.toHaveProperty('issuerSpeltTwoWays');
    expect(devices.device(ESME, undefined, NOW)!.copiesDisagree).toEqual(['networkOperator.nonCritical']);
    const identities = devices.timelineOf(ESME, undefined, NOW)!.timeline.filter((h) => h.kind === 'certificate' && h.slot === 'networkOperator.nonCritical').map((h) => h.identity);
    expect(identities[0]).toBe(identities[1]);
    expect(identities[2]).not.toBe(identities[1]);
    expect(report.records('2021-01-01T00:00:00.000Z').map((f) => [f.slot, f.dsp?.certificate.issuer, f.s1sp?.certificate.issuer, f.issuerSpeltTwoWays])).toEqual([['networkOperator.nonCritical', 'CN=Test CA,O=X', 'CN=Test CA, O=X', true]]);
    expect(report.records(NOW).map((f) => [f.slot, f.dsp?.certificate.serial, f.s1sp?.certificate.serial, f.issuerSpeltTwoWays])).toEqual([['networkOperator.nonCritical', 'E1', 'E2', undefined]]);
  });
});
