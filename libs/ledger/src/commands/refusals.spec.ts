import { DomainError, getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '../ledger';

/**
 * What each command refuses, through the ledger's own methods (the doors add their DTO checks in
 * front): the field and the message, pinned as they were before the commands became deciders, and
 * nothing written.
 */
const NO_A = '90-B3-D5-1F-30-03-00-0A';
const ESME = '00-DB-12-34-56-78-90-01';
const ctx = { actor: 'test' };
const role = { userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01' };
const inventory = { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: '1412345678901', changedAt: '2019-06-01' };
const registration = { mpxn: '1412345678901', responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R1' };
const certificate = { serial: 'C1', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' };
const placement = { deviceId: ESME, slot: 'networkOperator.critical', certificate, via: { kind: 'migration' as const }, placedAt: '2019-06-01' };

describe('refusals of the commands', () => {
  let store: SqliteEventStore;
  let ledger: Ledger;
  beforeAll(() => {
    store = new SqliteEventStore(':memory:');
    ledger = new Ledger(store, getRuleSet('baseline'));
  });
  afterAll(() => store.dispose());

  const refusal = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (err) {
      if (err instanceof DomainError) return `${err.field}: ${err.reason}`;
      throw err;
    }
    throw new Error('not refused');
  };

  it.each`
    command                  | input                                                     | message
    ${'registerUserRole'}    | ${{ ...role, userId: 'NO-A' }}                            | ${expect.stringMatching(/^userId: /)}
    ${'registerUserRole'}    | ${{ ...role, role: 'XX' }}                                | ${expect.stringMatching(/^role: /)}
    ${'registerUserRole'}    | ${{ ...role, status: 'Dormant' }}                         | ${"status: 'Dormant' is not one of Active, Suspended, Withdrawn"}
    ${'registerUserRole'}    | ${{ ...role, marketIds: 'x' }}                            | ${'marketIds: must be a list of strings'}
    ${'registerUserRole'}    | ${{ ...role, marketIds: [1] }}                            | ${'marketIds: must be a list of strings'}
    ${'registerUserRole'}    | ${{ ...role, effectiveFrom: 'soon' }}                     | ${expect.stringMatching(/^effectiveFrom: /)}
    ${'changeInventory'}     | ${{ ...inventory, deviceId: 'x' }}                        | ${expect.stringMatching(/^deviceId: /)}
    ${'changeInventory'}     | ${{ ...inventory, deviceType: 'Toaster' }}                | ${"deviceType: 'Toaster' is not one of ESME, GSME, GPF, CHF, HCALCS, PPMID, IHD, CAD"}
    ${'changeInventory'}     | ${{ ...inventory, smetsGeneration: 3 }}                   | ${'smetsGeneration: must be 1 or 2'}
    ${'changeInventory'}     | ${{ ...inventory, smetsGeneration: '1' }}                 | ${'smetsGeneration: must be 1 or 2'}
    ${'changeInventory'}     | ${{ ...inventory, status: 'Lost' }}                       | ${expect.stringMatching(/^status: 'Lost' is not one of Pending, /)}
    ${'changeInventory'}     | ${{ ...inventory, mpxn: '12' }}                           | ${expect.stringMatching(/^mpxn: /)}
    ${'changeInventory'}     | ${{ ...inventory, changedAt: 'x' }}                       | ${expect.stringMatching(/^changedAt: /)}
    ${'recordRegistration'}  | ${{ ...registration, mpxn: '1412345678902' }}             | ${expect.stringMatching(/^mpxn: .*check digit/)}
    ${'recordRegistration'}  | ${{ ...registration, responsibility: 'network_operator' }} | ${"responsibility: must be 'supplier' or 'networkOperator'"}
    ${'recordRegistration'}  | ${{ ...registration, partyUserId: 'x' }}                  | ${expect.stringMatching(/^partyUserId: /)}
    ${'recordRegistration'}  | ${{ ...registration, effectiveFrom: 'x' }}                | ${expect.stringMatching(/^effectiveFrom: /)}
    ${'recordRegistration'}  | ${{ ...registration, recordId: '  ' }}                    | ${'recordId: must be the RDP record id'}
    ${'recordRegistration'}  | ${{ ...registration, recordId: 7 }}                       | ${'recordId: must be the RDP record id'}
    ${'placeCertificate'}    | ${{ ...placement, deviceId: 'x' }}                        | ${expect.stringMatching(/^deviceId: /)}
    ${'placeCertificate'}    | ${{ ...placement, slot: 'loadController.critical' }}      | ${"slot: 'loadController.critical' is not one of supplier.critical, supplier.nonCritical, networkOperator.critical, networkOperator.nonCritical"}
    ${'placeCertificate'}    | ${{ ...placement, certificate: { ...certificate, ownerUserId: 'x' } }} | ${expect.stringMatching(/^certificate\.ownerUserId: /)}
    ${'placeCertificate'}    | ${{ ...placement, heldBy: [] }}                           | ${"heldBy: must list 'DSP' and/or 'S1SP'"}
    ${'placeCertificate'}    | ${{ ...placement, heldBy: 'DSP' }}                        | ${"heldBy: must list 'DSP' and/or 'S1SP'"}
    ${'placeCertificate'}    | ${{ ...placement, heldBy: ['DSP', 'DCC'] }}               | ${"heldBy: must list 'DSP' and/or 'S1SP'"}
    ${'placeCertificate'}    | ${{ ...placement, via: { kind: 'operatorCorrection' } }}  | ${'via.reference: an operator correction must name its reference'}
    ${'placeCertificate'}    | ${{ ...placement, placedAt: 'x' }}                        | ${expect.stringMatching(/^placedAt: /)}
    ${'placeCertificate'}    | ${{ ...placement, slot: 'networkOperator.nonCritical' }}  | ${'certificate.keyUsage: the networkOperator.nonCritical slot holds a keyAgreement certificate, not digitalSignature'}
    ${'placeCertificate'}    | ${{ ...placement, certificate: { ...certificate, keyUsage: 'keyAgreement' } }} | ${'certificate.keyUsage: the networkOperator.critical slot holds a digitalSignature certificate, not keyAgreement'}
    ${'placeCertificate'}    | ${{ ...placement, heldBy: 'DSP', slot: 'x' }}             | ${expect.stringMatching(/^slot: /)}
    ${'placeCertificate'}    | ${{ ...placement, via: { kind: 'operatorCorrection' }, placedAt: 'x', certificate: { ...certificate, keyUsage: 'keyAgreement' } }} | ${'via.reference: an operator correction must name its reference'}
    ${'placeCertificate'}    | ${{ ...placement, placedAt: 'x', certificate: { ...certificate, keyUsage: 'keyAgreement' } }} | ${expect.stringMatching(/^placedAt: /)}
  `('$command refuses $input with "$message", writing nothing', async ({ command, input, message }) => {
    const before = await store.headPosition();
    const run = (ledger as unknown as Record<string, (i: unknown, c: typeof ctx) => Promise<unknown>>)[command].bind(ledger);
    expect(await refusal(() => run(input, ctx))).toEqual(message);
    expect(await store.headPosition()).toBe(before);
  });
});
