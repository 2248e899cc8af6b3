import { datedDeviceEvents, evolveDevice, fold, type LedgerEvent } from '@ledger/domain';
import { cert, ids, inventory, mpan } from '../../../domain/src/testing/scenario';
import { ProxyDisagreementReport } from './proxy-disagreements';

/** The report reads each SMETS1 device as it was at its instant (as the stuck report does), not its state now with older copies. */
const { noA, esme } = ids;
// One copy placed at migration in 2019, before the device's inventory record (2020-01-01): allowed.
const history: LedgerEvent[] = [
  { type: 'CertificatePlaced', data: { schemaVersion: 1, deviceId: esme, slot: 'supplier.nonCritical', certificate: cert(noA, 'keyAgreement', '02', 'K1'), heldBy: ['S1SP'], via: { kind: 'migration' }, placedAt: '2019-06-01T00:00:00.000Z' } },
  inventory(esme, 'ESME', 1, 'Commissioned', mpan),
];
const now = fold(evolveDevice, history)!;
const report = new ProxyDisagreementReport({
  devices: {
    smets1Ever: () => [now],
    states: () => new Map(),
    historiesChangedAfter: (deviceIds, at) => new Map(deviceIds.includes(esme) && at < '2020-01-01T00:00:00.000Z' ? [[esme, datedDeviceEvents(history)]] : []),
  },
});

it.each`
  at                            | found
  ${'2019-12-01T00:00:00.000Z'} | ${[]}
  ${'2020-01-01T00:00:00.000Z'} | ${[['supplier.nonCritical', null, 'K1']]}
`('at $at (the device in the inventory from 2020): $found', ({ at, found }) => {
  expect(report.records(at).map((f) => [f.slot, f.dsp, f.s1sp?.certificate.serial])).toEqual(found);
});
