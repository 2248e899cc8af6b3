import { evolveDevice, fold } from '../state';
import { decide, parsed } from '../testing/decider-table';
import { cert, ids, inventory, mpan, mprn, placed } from '../testing/scenario';
import { foldStream } from './decider';
import { deviceDecider, parseChangeInventory, parsePlaceCertificate, type ChangeInventory, type PlaceCertificate } from './device';

const { esme, noA, noB, supplierA } = ids;
const T = '2020-06-01T00:00:00.000Z';
const change = (over: Partial<ChangeInventory> = {}): ChangeInventory => ({
  kind: 'ChangeInventory',
  deviceId: esme as ChangeInventory['deviceId'],
  deviceType: 'ESME',
  smetsGeneration: 1,
  status: 'Commissioned',
  mpxn: mpan as ChangeInventory['mpxn'],
  changedAt: '2020-01-01T00:00:00.000Z',
  ...over,
});
const changed = (c: ChangeInventory) => ({
  type: 'DeviceInventoryChanged',
  data: { schemaVersion: 1, deviceId: c.deviceId, deviceType: c.deviceType, smetsGeneration: c.smetsGeneration, status: c.status, mpxn: c.mpxn, changedAt: c.changedAt },
});
const place = (over: Partial<PlaceCertificate> = {}): PlaceCertificate => ({
  kind: 'PlaceCertificate',
  deviceId: esme as PlaceCertificate['deviceId'],
  slot: 'networkOperator.critical',
  certificate: cert(noA),
  heldBy: ['DSP', 'S1SP'],
  via: { kind: 'migration' },
  placedAt: T,
  ...over,
});
const placedBy = (c: PlaceCertificate) => ({
  type: 'CertificatePlaced',
  data: { schemaVersion: 1, deviceId: c.deviceId, slot: c.slot, certificate: c.certificate, heldBy: c.heldBy, via: c.via, placedAt: c.placedAt },
});
const commissioned = inventory(esme, 'ESME', 1, 'Commissioned', mpan);

describe('the device decider: the inventory record and the certificates held by proxy', () => {
  it.each`
    rule                                                                                 | given                                                   | when
    ${'a device enters the inventory'}                                                   | ${[]}                                                   | ${change()}
    ${'its status changes'}                                                              | ${[commissioned]}                                       | ${change({ status: 'Suspended' })}
    ${'it stops serving a meter point'}                                                  | ${[commissioned]}                                       | ${change({ mpxn: null })}
    ${'a device whose certificates came first enters the inventory'}                     | ${[placed(esme, 'supplier.critical', cert(supplierA))]} | ${change()}
  `('inventory: $rule', ({ given, when }) => {
    expect(decide(deviceDecider, esme, given, when)).toEqual({ then: [changed(when)] });
  });

  it.each`
    rule                                                                                 | given                                                           | when
    ${'a migration places the NO signing certificate in the critical NO slot'}           | ${[commissioned]}                                               | ${place()}
    ${'a key-agreement certificate goes in a non-critical slot'}                         | ${[commissioned]}                                               | ${place({ slot: 'networkOperator.nonCritical', certificate: cert(noA, 'keyAgreement') })}
    ${"an operator's correction replaces another party's certificate"}                  | ${[commissioned, placed(esme, 'networkOperator.critical', cert(noB))]} | ${place({ via: { kind: 'operatorCorrection', reference: 'OPS-1' } })}
    ${'a correction to one proxy copy only is recorded (an audit finding, not a refusal)'} | ${[commissioned]}                                             | ${place({ heldBy: ['S1SP'], via: { kind: 'operatorCorrection', reference: 'OPS-2' } })}
    ${'a certificate may be placed on a device not yet in the inventory'}                | ${[]}                                                           | ${place({ slot: 'supplier.critical', certificate: cert(supplierA, 'digitalSignature', '02') })}
    ${"a supplier's certificate (02) in the NO slot is recorded as held: the wrong NO certificate of a stuck device"} | ${[commissioned]}                | ${place({ certificate: cert(supplierA, 'digitalSignature', '02') })}
    ${'a wrong-role certificate in one proxy copy only is recorded (a copy disagreement)'} | ${[commissioned]}                                             | ${place({ heldBy: ['S1SP'], certificate: cert(supplierA, 'digitalSignature', '02'), via: { kind: 'operatorCorrection', reference: 'OPS-3' } })}
  `('placement: $rule', ({ given, when }) => {
    expect(decide(deviceDecider, esme, given, when)).toEqual({ then: [placedBy(when)] });
  });

  it.each`
    slot                              | keyUsage              | refused
    ${'supplier.critical'}            | ${'keyAgreement'}     | ${'certificate.keyUsage: the supplier.critical slot holds a digitalSignature certificate, not keyAgreement'}
    ${'networkOperator.critical'}     | ${'keyAgreement'}     | ${'certificate.keyUsage: the networkOperator.critical slot holds a digitalSignature certificate, not keyAgreement'}
    ${'supplier.nonCritical'}         | ${'digitalSignature'} | ${'certificate.keyUsage: the supplier.nonCritical slot holds a keyAgreement certificate, not digitalSignature'}
    ${'networkOperator.nonCritical'}  | ${'digitalSignature'} | ${'certificate.keyUsage: the networkOperator.nonCritical slot holds a keyAgreement certificate, not digitalSignature'}
  `('placement: the $slot slot refuses a $keyUsage certificate (critical = digital signing, non-critical = key agreement)', ({ slot, keyUsage, refused }) => {
    expect(decide(deviceDecider, esme, [commissioned], place({ slot, certificate: cert(noA, keyUsage) }))).toEqual({ refused });
  });

  const inventoryInput = { deviceId: esme, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: mpan, changedAt: '2020-01-01' };
  it.each`
    rule                                                          | over                                  | outcome
    ${'a device serving no meter point has mpxn null'}            | ${{ mpxn: undefined }}                | ${{ command: change({ mpxn: null }) }}
    ${'a DCC test MPAN failing its check digit is kept'}          | ${{ mpxn: '1412345678902' }}          | ${{ command: change({ mpxn: '1412345678902' as never }) }}
    ${"an ESME on an MPRN is kept: the inventory's fact"}          | ${{ mpxn: mprn }}                     | ${{ command: change({ mpxn: mprn as never }) }}
    ${"a GSME on an MPAN is kept: the inventory's fact"}           | ${{ deviceType: 'GSME' }}             | ${{ command: change({ deviceType: 'GSME' }) }}
    ${'the device type is one of the eight'}                      | ${{ deviceType: 'Toaster' }}          | ${{ refused: "deviceType: 'Toaster' is not one of ESME, GSME, GPF, CHF, HCALCS, PPMID, IHD, CAD" }}
    ${'the SMETS generation is the number 1 or 2'}                | ${{ smetsGeneration: '2' }}           | ${{ refused: 'smetsGeneration: must be 1 or 2' }}
    ${'the status is one of the inventory statuses'}              | ${{ status: 'Lost' }}                 | ${{ refused: expect.stringMatching(/^status: 'Lost' is not one of Pending, Whitelisted, /) }}
    ${'the device type is checked before the status'}             | ${{ deviceType: 'X', status: 'Y' }}   | ${{ refused: expect.stringMatching(/^deviceType: /) }}
  `('parse an inventory change: $rule', ({ over, outcome }) => {
    expect(parsed(parseChangeInventory, { ...inventoryInput, ...over })).toEqual(outcome);
  });

  const placementInput = { deviceId: esme, slot: 'networkOperator.critical', certificate: cert(noA), via: { kind: 'migration' as const }, placedAt: T };
  it.each`
    rule                                                          | over                                                            | outcome
    ${'both proxy copies are written unless told'}                | ${{}}                                                           | ${{ command: place() }}
    ${'a migration may name its batch'}                           | ${{ via: { kind: 'migration', reference: 'MIG-1' } }}           | ${{ command: place({ via: { kind: 'migration', reference: 'MIG-1' } }) }}
    ${'the slot is one of the four notified records'}             | ${{ slot: 'loadController.critical' }}                          | ${{ refused: expect.stringMatching(/^slot: 'loadController.critical' is not one of supplier.critical, /) }}
    ${"the copies written are the DSP's and/or the S1SP's"}       | ${{ heldBy: ['DSP', 'DCC'] }}                                   | ${{ refused: "heldBy: must list 'DSP' and/or 'S1SP'" }}
    ${'at least one copy is written'}                             | ${{ heldBy: [] }}                                               | ${{ refused: "heldBy: must list 'DSP' and/or 'S1SP'" }}
    ${'an operator correction must name its reference'}           | ${{ via: { kind: 'operatorCorrection' } }}                      | ${{ refused: 'via.reference: an operator correction must name its reference' }}
    ${'a placement is a migration or an operator correction'}     | ${{ via: { kind: 'request' } }}                                 | ${{ refused: "via.kind: 'request' is not one of migration, operatorCorrection" }}
    ${'a reference is a non-empty string'}                        | ${{ via: { kind: 'migration', reference: 7 } }}                 | ${{ refused: 'via.reference: must be a non-empty string' }}
    ${'the certificate names its owner by User ID'}               | ${{ certificate: { ...cert(noA), ownerUserId: 'x' } }}          | ${{ refused: expect.stringMatching(/^certificate\.ownerUserId: /) }}
  `('parse a placement: $rule', ({ over, outcome }) => {
    expect(parsed(parsePlaceCertificate, { ...placementInput, ...over })).toEqual(outcome);
  });

  it('a device with no events is not in the inventory and holds nothing, and its stream folds to the state the ledger always folded', () => {
    expect(deviceDecider.initialState(esme)).toEqual({ deviceId: esme, inInventory: false, slots: {} });
    for (const events of [[commissioned, placed(esme, 'networkOperator.critical', cert(noB))], [placed(esme, 'supplier.critical', cert(supplierA)), commissioned]]) {
      expect(foldStream(deviceDecider, esme, events)).toEqual(fold(evolveDevice, events));
    }
  });
});
