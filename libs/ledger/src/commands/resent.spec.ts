import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FactReusedError, getRuleSet, type RecordRegistrationInput } from '@ledger/domain';
import { SqliteEventStore, type RecordedEvent } from '@ledger/event-store';
import { Ledger } from '../ledger';
import { importRegistrationFile } from '../registration-import';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../testing/one-esme';

const ctx = { actor: 'test' };

/**
 * A fact whose name does not cover all it says, sent again: the same fact is a retry (nothing
 * written, "recorded before"); other content under its name is refused naming what differs, and
 * nothing is written. Until 2026-11-27 both were answered "recorded before".
 */
describe('a fact sent again under its name', () => {
  let dir: string;
  let store: SqliteEventStore;
  let ledger: Ledger;
  const stream = async (name: string) => {
    const out: RecordedEvent[] = [];
    for await (const e of store.readStream(name)) out.push(e);
    return out.map((e) => e.position);
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-resent-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_B, ctx); // NO-A registered on MPAN by record R1 (2019-01-01); B1 (NO-B's) in the ESME's NO critical slot
  });
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const registration = (over: Partial<RecordRegistrationInput> = {}): RecordRegistrationInput => ({ mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: 'R1', ...over });
  const placement = (over: Record<string, unknown> = {}, certificate: Record<string, unknown> = {}) => ({
    deviceId: ESME,
    slot: 'networkOperator.critical',
    certificate: { serial: 'B1', issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature', ...certificate },
    via: { kind: 'migration' },
    placedAt: '2019-06-01',
    ...over,
  });

  it.each`
    case                                                    | input                                                                  | differences
    ${'another party and date'}                             | ${registration({ partyUserId: NO_B, effectiveFrom: '2021-01-01' })}     | ${['effectiveFrom', 'partyUserId']}
    ${'the other responsibility (another timeline)'}        | ${registration({ responsibility: 'supplier' })}                        | ${['responsibility']}
  `('a Registration Data record id already held, with $case: 409 naming what differs, nothing written', async ({ input, differences }) => {
    const before = await stream(`meterpoint-${MPAN}`);
    const refused = await ledger.recordRegistration(input, ctx).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(FactReusedError);
    expect(refused).toMatchObject({ field: 'recordId', differences });
    expect((refused as Error).message).toMatch(/^recordId: Registration Data record 'R1' of MPxN 1412345678901 was recorded before with other content/);
    expect(await stream(`meterpoint-${MPAN}`)).toEqual(before);
  });

  it('the same record again, from another file or as an instant written otherwise, is a retry', async () => {
    const before = await stream(`meterpoint-${MPAN}`);
    expect(await ledger.recordRegistration(registration({ effectiveFrom: '2019-01-01T00:00:00+00:00', file: 'rdp-2.csv', line: 9 }), ctx)).toMatchObject({ written: false, position: before[0].toString() });
    const report = await importRegistrationFile(ledger, `mpxn,responsibility,party_user_id,effective_from,record_id\n${MPAN},network_operator,${NO_A},2019-01-01,R1\n`, 'rdp-3.csv', ctx);
    expect(report).toMatchObject({ written: 0, unchanged: 1, rejected: 0 });
    expect(await stream(`meterpoint-${MPAN}`)).toEqual(before);
  });

  it('a Registration Data file line reusing a held record id with other content is rejected naming it, not counted unchanged', async () => {
    const csv = `mpxn,responsibility,party_user_id,effective_from,record_id\n${MPAN},network_operator,${NO_B},2021-01-01,R1\n`;
    const report = await importRegistrationFile(ledger, csv, 'rdp-1.csv', ctx);
    // One line read, not two: until 2026-11-27 a line the store refused was counted in `lines` twice.
    expect(report).toMatchObject({ lines: 1, written: 0, unchanged: 0, rejected: 1, errors: [{ line: 2, field: 'recordId', reason: expect.stringContaining('it differs in effectiveFrom, partyUserId') }] });
  });

  it.each`
    case                                                        | input                                                                                              | refused
    ${'another owner and way of placing'}                       | ${placement({ via: { kind: 'operatorCorrection', reference: 'COR-9' } }, { ownerUserId: NO_A })}  | ${{ field: 'certificate', differences: ['certificate.ownerUserId', 'via.kind', 'via.reference'] }}
    ${'another role code'}                                      | ${placement({}, { roleCode: '02' })}                                                               | ${{ field: 'certificate', differences: ['certificate.roleCode'] }}
    ${'a key usage its slot refuses (as when first sent)'}      | ${placement({}, { keyUsage: 'keyAgreement' })}                                                     | ${{ field: 'certificate.keyUsage' }}
  `('a placement with the identity of a recorded one but $case is refused, nothing written', async ({ input, refused }) => {
    const before = await stream(`device-${ESME}`);
    await expect(ledger.placeCertificate(input, ctx)).rejects.toMatchObject(refused);
    expect(await stream(`device-${ESME}`)).toEqual(before);
  });

  it('a placement recorded with its copies listed S1SP first (as sent, before they were put in one order) is found by a retry, in either order', async () => {
    const legacy = { ...placement({ placedAt: '2019-07-01' }), kind: 'PlaceCertificate', heldBy: ['S1SP', 'DSP'], certificate: { serial: 'B2', issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' }, placedAt: '2019-07-01T00:00:00.000Z' };
    expect(await ledger.execute(legacy as never, ctx)).toMatchObject({ written: true });
    const before = await stream(`device-${ESME}`);
    for (const heldBy of [['S1SP', 'DSP'], ['DSP', 'S1SP'], undefined]) {
      expect(await ledger.placeCertificate(placement({ placedAt: '2019-07-01', heldBy }, { serial: 'B2' }), ctx)).toMatchObject({ written: false, position: before[before.length - 1].toString() });
    }
    expect(await stream(`device-${ESME}`)).toEqual(before);
  });

  it("a migration sent again in another batch (another reference) is a retry; an operator correction's reference is its content", async () => {
    const before = await stream(`device-${ESME}`);
    expect(await ledger.placeCertificate(placement({ via: { kind: 'migration', reference: 'MIG-2' } }), ctx)).toMatchObject({ written: false });
    expect(await ledger.placeCertificate(placement({ placedAt: '2019-08-01', via: { kind: 'operatorCorrection', reference: 'COR-1' } }), ctx)).toMatchObject({ written: true });
    await expect(ledger.placeCertificate(placement({ placedAt: '2019-08-01', via: { kind: 'operatorCorrection', reference: 'COR-2' } }), ctx)).rejects.toMatchObject({ differences: ['via.reference'] });
    expect((await stream(`device-${ESME}`)).length).toBe(before.length + 1);
  });

  it('the same placement with its copies listed in another order is a retry; a copy listed twice is refused', async () => {
    const before = await stream(`device-${ESME}`);
    expect(await ledger.placeCertificate(placement({ heldBy: ['S1SP', 'DSP'] }), ctx)).toMatchObject({ written: false, position: before[before.length - 1].toString() });
    await expect(ledger.placeCertificate(placement({ heldBy: ['DSP', 'DSP', 'S1SP'] }), ctx)).rejects.toThrow('heldBy: lists a copy twice');
    expect(await stream(`device-${ESME}`)).toEqual(before);
  });
});
