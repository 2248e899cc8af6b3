import { Ledger } from '@ledger/ledger';
import { Projector } from '@ledger/projections';
import { ESME, MPAN, NO_A, NO_B, recordOneEsme } from '../../../libs/ledger/src/testing/one-esme';
import { startTestApp } from './test-app';

/**
 * The stuck report judges a device's proxy copies as the rule set it judges by: its `ruleSet`, else
 * LEDGER_RULE_SET (here `baseline@4`, as during a rollout to @5). The ESME's two copies are one
 * certificate, its issuer spelt two ways ('CN=CA' and 'CN = CA'): under @1 to @4 they disagree, the
 * registered NO's repair is refused `proxy-copies-disagree`, and the device is stuck; from @5 it is
 * not. A second ESME, its DSP copy the registered NO's and its S1SP copy NO-B's, is stuck by its
 * copies under every rule set and found by `no=` its S1SP copy's owner. A third, both its copies
 * NO-B's one certificate, its issuer spelt two ways, is stuck under every rule set by its owner, and
 * under @1 to @4 its copies disagree too (`copiesDisagree`, from the row's `status_before5`). A
 * fourth, its copies one certificate (C5) spelt two ways, the DSP copy recorded as NO-B's and the S1SP
 * copy as NO-C's, is stuck by its owner (NO-B) under every rule set, and under @1 to @4 by its copies
 * too: `no=` NO-C finds it under @4, not under @5, where its status names no copy's owner.
 */
describe('the stuck report, judged by the rule set it is asked under, else the configured one', () => {
  const OTHER = '00-DB-12-34-56-78-90-02';
  const THIRD = '00-DB-12-34-56-78-90-03';
  const FOURTH = '00-DB-12-34-56-78-90-04';
  const NO_C = '90-B3-D5-1F-30-03-00-0C';
  const ctx = { actor: 'test' };
  let t: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    t = await startTestApp('baseline@4');
    const ledger = t.app.get(Ledger);
    await recordOneEsme(ledger, NO_A, ctx);
    const place = (deviceId: string, serial: string, issuer: string, ownerUserId: string, copy: 'DSP' | 'S1SP', placedAt: string) =>
      ledger.placeCertificate({ deviceId, slot: 'networkOperator.critical', certificate: { serial, issuer, ownerUserId, roleCode: '03', keyUsage: 'digitalSignature' }, heldBy: [copy], via: { kind: 'migration' }, placedAt }, ctx);
    const esme = (deviceId: string) => ledger.changeInventory({ deviceId, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
    await place(ESME, 'B1', 'CN = CA', NO_A, 'S1SP', '2021-01-01');
    await esme(OTHER);
    await place(OTHER, 'A7', 'CN=CA', NO_A, 'DSP', '2019-06-01');
    await place(OTHER, 'B7', 'CN=CA', NO_B, 'S1SP', '2020-01-01');
    await esme(THIRD);
    await place(THIRD, 'C3', 'CN=CA', NO_B, 'DSP', '2019-06-01');
    await place(THIRD, 'C3', 'CN = CA', NO_B, 'S1SP', '2022-01-01');
    await esme(FOURTH);
    await place(FOURTH, 'C5', 'CN=CA', NO_B, 'DSP', '2019-06-01');
    await place(FOURTH, 'C5', 'CN = CA', NO_C, 'S1SP', '2020-06-01');
    await t.app.get(Projector).waitFor((await t.store.headPosition())!, 30_000);
  }, 60_000);
  afterAll(() => t.close());

  const ids = (body: { devices: Array<{ deviceId: string }> }) => body.devices.map((d) => d.deviceId);
  const spelt = { deviceId: ESME, stuck: true, since: '2021-01-01T00:00:00.000Z', certificateOwner: NO_A, registeredOperator: NO_A, copiesDisagree: true, issuerSpeltTwoWays: true };
  // Stuck under every rule set by its owner; under @1 to @4 its copies disagree too (the row's status_before5, which put keeps for a row stuck under every edition as well).
  const third = { deviceId: THIRD, stuck: true, since: '2019-06-01T00:00:00.000Z', certificateOwner: NO_B, registeredOperator: NO_A, issuerSpeltTwoWays: true };
  const fourth = { ...third, deviceId: FOURTH };

  it.each`
    given                                       | query
    ${'LEDGER_RULE_SET=baseline@4, none asked'} | ${''}
    ${'ruleSet=baseline@4'}                     | ${'ruleSet=baseline@4'}
    ${'ruleSet=registered-operator@4'}          | ${'ruleSet=registered-operator@4'}
  `('given $given, the devices whose copies are one certificate spelt two ways are stuck, their copies disagreeing, flagged, now and as of now, whole and paged', async ({ query }) => {
    const now = (await t.as('auditor').get(`/reports/stuck-devices?${query}`).expect(200)).body;
    expect(now).toMatchObject({
      count: 4,
      devices: [spelt, { deviceId: OTHER, copiesDisagree: true }, { ...third, copiesDisagree: true }, { ...fourth, copiesDisagree: true, copyOwners: { DSP: NO_B, S1SP: NO_C } }],
    });
    const paged = (await t.as('auditor').get(`/reports/stuck-devices?${query}&limit=1`).expect(200)).body;
    expect(paged).toMatchObject({ count: 4, offset: 0, devices: [spelt] });
    const bySince = (await t.as('auditor').get(`/reports/stuck-devices?${query}&sort=since&order=desc&limit=5`).expect(200)).body;
    expect(ids(bySince)).toEqual([ESME, OTHER, FOURTH, THIRD]);
    const computed = (await t.as('auditor').get(`/reports/stuck-devices?${query}&at=${encodeURIComponent(now.at)}`).expect(200)).body;
    expect(computed.devices).toEqual(now.devices);
    if (query) {
      // nobody can repair it: evaluate() refuses the registered NO `proxy-copies-disagree`
      expect(now.repairable).toBe(0);
      expect(now.devices[0].repairs).toEqual([expect.objectContaining({ who: 'registered operator', userId: NO_A, accepted: false, reason: expect.stringContaining('disagree') })]);
      expect(computed.repairable).toBe(0);
    }
  });

  it.each(['baseline@5', 'baseline', 'registered-operator'])('asked under %s, the ESME is not stuck, and the third and fourth devices\' copies do not disagree, now or as of now', async (ruleSet) => {
    const now = (await t.as('auditor').get(`/reports/stuck-devices?ruleSet=${ruleSet}`).expect(200)).body;
    expect(now).toMatchObject({ count: 3, devices: [{ deviceId: OTHER }, third, fourth] });
    for (const d of now.devices.slice(1)) expect(d).not.toHaveProperty('copiesDisagree'), expect(d).not.toHaveProperty('copyOwners');
    expect(now.repairable).toBe(now.devices.filter((d: { repairable: boolean }) => d.repairable).length);
    const paged = (await t.as('auditor').get(`/reports/stuck-devices?ruleSet=${ruleSet}&limit=10`).expect(200)).body;
    expect(paged).toMatchObject({ count: 3, devices: [{ deviceId: OTHER }, third, fourth] });
    const computed = (await t.as('auditor').get(`/reports/stuck-devices?ruleSet=${ruleSet}&at=${encodeURIComponent(now.at)}`).expect(200)).body;
    expect(ids(computed)).toEqual([OTHER, THIRD, FOURTH]);
    expect(computed.devices[1]).not.toHaveProperty('copiesDisagree');
  });

  it("OpenAPI allows ruleSet as a bare id or <id>@<version>, as the README tells operators to ask (`ruleSet=<id>@4`; until 2026-11-28, twenty-first session's review, bare ids only)", async () => {
    const { paths } = (await t.http().get('/docs-json').expect(200)).body;
    const ruleSet = paths['/reports/stuck-devices'].get.parameters.find((p: { name: string }) => p.name === 'ruleSet');
    expect(ruleSet.schema.enum).toEqual(expect.arrayContaining(['baseline', 'registered-operator', 'baseline@4', 'registered-operator@4', 'ownership-only@5', 'baseline@1']));
  });

  it('no= finds a device stuck by its copies by its S1SP copy\'s owner, now and as of now', async () => {
    const now = (await t.as('auditor').get(`/reports/stuck-devices?no=${NO_B}`).expect(200)).body;
    expect(now).toMatchObject({
      count: 3,
      devices: [{ deviceId: OTHER, certificateOwner: NO_A, copyOwners: { DSP: NO_A, S1SP: NO_B } }, { deviceId: THIRD, certificateOwner: NO_B }, { deviceId: FOURTH, certificateOwner: NO_B }],
    });
    const computed = (await t.as('auditor').get(`/reports/stuck-devices?no=${NO_B}&at=${encodeURIComponent(now.at)}`).expect(200)).body;
    expect(ids(computed)).toEqual([OTHER, THIRD, FOURTH]);
    expect(ids((await t.as('auditor').get(`/reports/stuck-devices?no=${NO_A}&limit=10`).expect(200)).body)).toEqual([ESME, OTHER, THIRD, FOURTH]);
  });

  it.each`
    ruleSet         | listed
    ${'baseline@4'} | ${[FOURTH]}
    ${'baseline@5'} | ${[]}
  `("under $ruleSet, no= the S1SP copy's owner finds a device only where the status it is listed with names that owner, now and as of now", async ({ ruleSet, listed }) => {
    // Under @5 the fourth device's copies are one certificate: stuck by its owner, its status names no copy's owner. Until the
    // twenty-first session's second review, no= read a column serving every edition, which fell back to @4's status: it was listed now, not as of now.
    const now = (await t.as('auditor').get(`/reports/stuck-devices?ruleSet=${ruleSet}&no=${NO_C}`).expect(200)).body;
    expect(now).toMatchObject({ count: listed.length });
    expect(ids(now)).toEqual(listed);
    const computed = (await t.as('auditor').get(`/reports/stuck-devices?ruleSet=${ruleSet}&no=${NO_C}&at=${encodeURIComponent(now.at)}`).expect(200)).body;
    expect(ids(computed)).toEqual(listed);
  });
});
