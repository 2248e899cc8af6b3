import { parseServiceRequest } from '@ledger/domain';
import type { SubmitResult } from '../commands/service-request';
import type { Ledger } from '../ledger';

/** Two network operators, a meter point and one commissioned SMETS1 ESME on it: the specs' smallest estate. */
export const NO_A = '90-B3-D5-1F-30-03-00-0A';
export const NO_B = '90-B3-D5-1F-30-03-00-0B';
export const ESME = '00-DB-12-34-56-78-90-01';
export const MPAN = '1412345678901';

/**
 * NO-A and NO-B (ED), NO-A the registered network operator of MPAN, and the ESME on MPAN placed at
 * migration with `owner`'s critical NO certificate (serial B1): NO-B's makes it stuck.
 */
export async function recordOneEsme(ledger: Ledger, owner: string, ctx = { actor: 'test' }): Promise<void> {
  await ledger.registerUserRole({ userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
  await ledger.registerUserRole({ userId: NO_B, role: 'ED', effectiveFrom: '2019-01-01' }, ctx);
  await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R1' }, ctx);
  await ledger.changeInventory({ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
  await ledger.placeCertificate(
    { deviceId: ESME, slot: 'networkOperator.critical', certificate: { serial: 'B1', issuer: 'CN=CA', ownerUserId: owner, roleCode: '03', keyUsage: 'digitalSignature' }, via: { kind: 'migration' }, placedAt: '2019-06-01' },
    ctx,
  );
}

/** A 6.15.1 from `sender` replacing the ESME's NO credentials with certificate C<counter>, `owner`'s, received at `receivedAt`. */
export function replaceNoCredentials(ledger: Ledger, sender: string, counter: number, receivedAt: string, owner = sender, ctx = { actor: 'test' }): Promise<SubmitResult> {
  const certificates = [{ serial: `C${counter}`, issuer: 'CN=CA', ownerUserId: owner, roleCode: '03', keyUsage: 'digitalSignature' }];
  return ledger.submit(parseServiceRequest({ requestId: `${sender}:${ESME}:${counter}`, srv: '6.15.1', remotePartyRole: 'NetworkOperator', certificates, receivedAt, format: 'json' }), ctx);
}
