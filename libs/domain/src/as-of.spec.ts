import { datedDeviceEvents, deviceAsOf, deviceView, effectiveAt } from './as-of';
import type { LedgerEvent } from './events';
import { inventoryAt, meterPointAt, meterPointOf } from './state';
import { cert, given, ids, inventory, mpan, placed } from './testing/scenario';

const { noA, noB, esme } = ids;
const REQUEST = `${noA}:${esme}:1`;
const DECIDED = '2024-03-01T00:00:00.000Z';
const EXECUTES = '2030-01-01T00:00:00.000Z';

const commissioned = inventory(esme, 'ESME', 1, 'Commissioned', mpan); // changedAt 2020-01-01
const migration = placed(esme, 'networkOperator.critical', cert(noB)); // placedAt 2020-06-01
const decision = { type: 'ServiceRequestEvaluated', data: { request: { requestId: REQUEST }, evaluatedAt: DECIDED } } as unknown as LedgerEvent;
const futureRepair: LedgerEvent = {
  type: 'CertificatePlaced',
  data: { schemaVersion: 1, deviceId: esme, slot: 'networkOperator.critical', certificate: cert(noA, 'digitalSignature', '03', 'A2'), heldBy: ['DSP', 'S1SP'], via: { kind: 'request', requestId: REQUEST, srv: '6.15.1' }, placedAt: EXECUTES },
};
const backdated: LedgerEvent = { type: 'DeviceInventoryChanged', data: { ...(commissioned.data as object), status: 'Suspended', changedAt: '2019-06-01T00:00:00.000Z' } } as LedgerEvent;
/** A device stream: inventory, migration, a future-dated repair (its decision, then its placement), and a backdated inventory change appended last. */
const stream = [commissioned, migration, decision, futureRepair, backdated];

describe('a device as of an instant', () => {
  it('dates each event: an inventory change at its changedAt, a request placement when its request was judged, another placement at its placedAt', () => {
    expect(datedDeviceEvents(stream).map((e) => [e.event.type, e.at])).toEqual([
      ['DeviceInventoryChanged', '2020-01-01T00:00:00.000Z'],
      ['CertificatePlaced', '2020-06-01T00:00:00.000Z'],
      ['ServiceRequestEvaluated', DECIDED],
      ['CertificatePlaced', DECIDED],
      ['DeviceInventoryChanged', '2019-06-01T00:00:00.000Z'],
    ]);
    expect(effectiveAt(futureRepair, () => undefined)).toBe(EXECUTES); // no decision held: its placedAt
    expect(effectiveAt({ type: 'RegistrationChanged', data: {} } as LedgerEvent, () => undefined)).toBeUndefined();
  });

  it.each`
    at                            | status           | owner        | pending
    ${'2019-01-01T00:00:00.000Z'} | ${undefined}     | ${undefined} | ${undefined}
    ${'2019-06-01T00:00:00.000Z'} | ${'Suspended'}   | ${undefined} | ${undefined}
    ${'2020-01-01T00:00:00.000Z'} | ${'Commissioned'} | ${undefined} | ${undefined}
    ${'2021-01-01T00:00:00.000Z'} | ${'Commissioned'} | ${noB}       | ${undefined}
    ${DECIDED}                    | ${'Commissioned'} | ${noB}       | ${[EXECUTES]}
    ${EXECUTES}                   | ${'Commissioned'} | ${noA}       | ${undefined}
  `('at $at: status $status, NO certificate of $owner, pending $pending', ({ at, status, owner, pending }) => {
    const state = deviceAsOf(datedDeviceEvents(stream), at);
    if (status === undefined) return expect(state).toBeUndefined();
    const view = deviceView(state!, at);
    // the record in force (inventoryAt): the backdated change, appended last, holds from its date until the later-dated one
    expect(view.status).toBe(status);
    expect(view.slots['networkOperator.critical']?.DSP?.certificate.ownerUserId).toBe(owner);
    expect(view.pending?.map((p) => p.placedAt)).toEqual(pending);
  });

  it('a view of a state folded before placements and inventory changes were kept holds its slots and record as they are', () => {
    const { placements: _, inventory: _changes, ...old } = deviceAsOf(datedDeviceEvents(stream), EXECUTES)!;
    expect(deviceView(old, DECIDED)).toEqual(old);
    expect(old.status).toBe('Suspended'); // the last change appended
  });
});

describe('the meter point a device serves at an instant (meterPointAt): that of its record in force (meterPointOf of inventoryAt)', () => {
  const other = '2200000123453';
  // Given a device commissioned on a meter point in 2020, its record without one from 2022, then on another from 2024
  const device = given([
    inventory(esme, 'ESME', 1, 'Commissioned', mpan, '2020-01-01T00:00:00.000Z'),
    inventory(esme, 'ESME', 1, 'Commissioned', null, '2022-01-01T00:00:00.000Z'),
    inventory(esme, 'ESME', 1, 'Commissioned', other, '2024-01-01T00:00:00.000Z'),
  ]).devices.get(esme)!;
  it.each`
    at                            | serves       | why
    ${'2019-01-01T00:00:00.000Z'} | ${undefined} | ${'not in the inventory yet'}
    ${'2021-01-01T00:00:00.000Z'} | ${mpan}      | ${'its first record'}
    ${'2023-01-01T00:00:00.000Z'} | ${undefined} | ${'a record with no MPxN'}
    ${'2025-01-01T00:00:00.000Z'} | ${other}     | ${'its latest record, in force since 2024'}
  `('when asked at $at, then it serves $serves ($why)', ({ at, serves }) => {
    expect(meterPointAt(device, at)).toBe(serves);
    expect(meterPointOf(inventoryAt(device, at))).toBe(serves);
  });
});
