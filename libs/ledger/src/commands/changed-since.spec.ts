import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FactChangedSinceError, getRuleSet, type ChangeInventoryInput } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '../ledger';
import { importRegistrationFile } from '../registration-import';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../testing/one-esme';

const ctx = { actor: 'test' };

/**
 * A fact keyed by an instant (an inventory change, a role registration, a placement) is named by
 * its instant and content, so a change back to it at the same instant (Commissioned, Suspended,
 * Commissioned, one changedAt) has the first one's name. Until 2026-11-27 it was answered as a
 * retry ("recorded before") while the record held the change between; now it is refused naming
 * what the record holds at that instant. A retry while the fact is still the last at its instant
 * stays a retry.
 */
describe('a fact keyed by an instant, sent again after another was recorded at that instant', () => {
  let dir: string;
  let store: SqliteEventStore;
  let ledger: Ledger;
  const events = async (stream: string) => {
    let n = 0;
    for await (const _ of store.readStream(stream)) n++;
    return n;
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-changed-since-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_A, ctx); // the ESME Commissioned at 2019-06-01; B1 (NO-A's) in its NO critical slot, placed 2019-06-01
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const inventory = (status: string, changedAt = '2019-06-01'): ChangeInventoryInput => ({ deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status, mpxn: MPAN, changedAt });
  const certificate = (serial: string, ownerUserId = NO_A) => ({ serial, issuer: 'CN=CA', ownerUserId, roleCode: '03', keyUsage: 'digitalSignature' });
  const place = (serial: string, over: Record<string, unknown> = {}) =>
    ledger.placeCertificate({ deviceId: ESME, slot: 'networkOperator.critical', certificate: certificate(serial, serial === 'B1' ? NO_A : NO_B), via: { kind: 'migration' }, placedAt: '2019-06-01', ...over }, ctx);

  it("a retry is judged on the stream's fold: it reads back its own event only, however many were recorded after it", async () => {
    for (let i = 1; i <= 50; i++) await ledger.changeInventory(inventory(i % 2 ? 'Suspended' : 'Commissioned', `2020-01-${String((i % 28) + 1).padStart(2, '0')}T00:00:${String(i).padStart(2, '0')}Z`), ctx);
    let read = 0;
    const readStream = store.readStream.bind(store);
    store.readStream = (stream, options) => (async function* () {
      for await (const e of readStream(stream, options)) (read++, yield e);
    })();
    try {
      expect(await ledger.changeInventory(inventory('Commissioned'), ctx)).toMatchObject({ written: false }); // the first change, sent again: still the last at 2019-06-01
      expect(read).toBe(1);
    } finally {
      store.readStream = readStream;
    }
  });

  it('an inventory change back at the same instant is refused (409) naming what the record holds then; the change between, sent again, is a retry', async () => {
    expect(await ledger.changeInventory(inventory('Suspended'), ctx)).toMatchObject({ written: true });
    const before = await events(`device-${ESME}`);
    const refused = await ledger.changeInventory(inventory('Commissioned'), ctx).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(FactChangedSinceError);
    expect(refused).toMatchObject({ field: 'changedAt', differences: ['status'] });
    expect((refused as Error).message).toBe(
      `changedAt: the inventory change of ${ESME} to Commissioned at 2019-06-01T00:00:00.000Z was recorded before, but since then another with status "Suspended" was recorded at that instant, and it is what the record holds; a change back at the same instant cannot be told from a retry: send the change with its own, later changedAt`,
    );
    expect(await ledger.changeInventory(inventory('Suspended'), ctx)).toMatchObject({ written: false });
    expect(await events(`device-${ESME}`)).toBe(before);
    // With its own instant the change back is recorded.
    expect(await ledger.changeInventory(inventory('Commissioned', '2019-06-02'), ctx)).toMatchObject({ written: true });
  });

  it('an inventory change sent again after changes at other instants only is a retry: it is still the last at its instant', async () => {
    await ledger.changeInventory(inventory('Suspended', '2020-01-01'), ctx);
    expect(await ledger.changeInventory(inventory('Commissioned'), ctx)).toMatchObject({ written: false });
  });

  it('a role registration back at the same effectiveFrom is refused naming the status recorded since; another role at that instant does not count', async () => {
    expect(await ledger.registerUserRole({ userId: NO_B, role: 'ED', status: 'Suspended', effectiveFrom: '2019-01-01' }, ctx)).toMatchObject({ written: true });
    await expect(ledger.registerUserRole({ userId: NO_B, role: 'ED', effectiveFrom: '2019-01-01' }, ctx)).rejects.toMatchObject({ field: 'effectiveFrom', differences: ['status'], since: 'another with status "Suspended"' });
    expect(await ledger.registerUserRole({ userId: NO_A, role: 'GT', effectiveFrom: '2019-01-01' }, ctx)).toMatchObject({ written: true });
    expect(await ledger.registerUserRole({ userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01' }, ctx)).toMatchObject({ written: false });
  });

  it('a placement sent again after another certificate was placed in the same slot and copy at the same instant is refused; in another slot or copy, or at another instant, it is a retry', async () => {
    expect(await place('B9', { slot: 'networkOperator.nonCritical', certificate: { ...certificate('B9'), keyUsage: 'keyAgreement' } })).toMatchObject({ written: true });
    expect(await place('B1')).toMatchObject({ written: false });
    expect(await place('B2', { placedAt: '2019-07-01' })).toMatchObject({ written: true });
    expect(await place('B1')).toMatchObject({ written: false });
    expect(await place('B3', { heldBy: ['S1SP'] })).toMatchObject({ written: true });
    await expect(place('B1')).rejects.toMatchObject({ field: 'placedAt', differences: ['certificate.ownerUserId', 'certificate.serial'] });
    expect(await place('B3', { heldBy: ['S1SP'] })).toMatchObject({ written: false });
  });

  it('a Registration Data record sent again after another record replaced it at its instant is a retry: its record id is its name, and a change back comes with a record id of its own', async () => {
    expect(await ledger.recordRegistration({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_B, effectiveFrom: '2019-01-01', recordId: 'R2' }, ctx)).toMatchObject({ written: true });
    const csv = (line: string) => `mpxn,responsibility,party_user_id,effective_from,record_id\n${line}\n`;
    expect(await importRegistrationFile(ledger, csv(`${MPAN},network_operator,${NO_A},2019-01-01,R1`), 'again.csv', ctx)).toMatchObject({ written: 0, unchanged: 1, rejected: 0 });
    expect(await importRegistrationFile(ledger, csv(`${MPAN},network_operator,${NO_A},2019-01-01,R3`), 'back.csv', ctx)).toMatchObject({ written: 1, unchanged: 0, rejected: 0 });
  });
});
