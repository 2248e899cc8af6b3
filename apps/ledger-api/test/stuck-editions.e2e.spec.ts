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
 * copies under every rule set and found by `no=` its S1SP copy's owner.
 */
describe('the stuck report, judged by the rule set it is asked under, else the configured one', () => {
  const OTHER = '00-DB-12-34-56-78-90-02';
  const ctx = { actor: 'test' };
  let t: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    t = await startTestApp('baseline@4');
    const ledger = t.app.get(Ledger);
    await recordOneEsme(ledger, NO_A, ctx);
    await ledger.placeCertificate(
      { deviceId: ESME, slot: 'networkOperator.critical', certificate: { serial: 'B1', issuer: 'CN = CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }, heldBy: ['S1SP'], via: { kind: 'migration' }, placedAt: '2021-01-01' },
      ctx,
    );
    await ledger.changeInventory({ deviceId: OTHER, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2019-06-01' }, ctx);
    await ledger.placeCertificate(
      { deviceId: OTHER, slot: 'networkOperator.critical', certificate: { serial: 'A7', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }, heldBy: ['DSP'], via: { kind: 'migration' }, placedAt: '2019-06-01' },
      ctx,
    );
    await ledger.placeCertificate(
      { deviceId: OTHER, slot: 'networkOperator.critical', certificate: { serial: 'B7', issuer: 'CN=CA', ownerUserId: NO_B, roleCode: '03', keyUsage: 'digitalSignature' }, heldBy: ['S1SP'], via: { kind: 'migration' }, placedAt: '2020-01-01' },
      ctx,
    );
    await t.app.get(Projector).waitFor((await t.store.headPosition())!, 30_000);
  }, 60_000);
  afterAll(() => t.close());

  const ids = (body: { devices: Array<{ deviceId: string }> }) => body.devices.map((d) => d.deviceId);
  const spelt = { deviceId: ESME, stuck: true, since: '2021-01-01T00:00:00.000Z', certificateOwner: NO_A, registeredOperator: NO_A, copiesDisagree: true, issuerSpeltTwoWays: true };

  it.each`
    given                                       | query
    ${'LEDGER_RULE_SET=baseline@4, none asked'} | ${''}
    ${'ruleSet=baseline@4'}                     | ${'ruleSet=baseline@4'}
    ${'ruleSet=registered-operator@4'}          | ${'ruleSet=registered-operator@4'}
  `('given $given, the device whose copies are one certificate spelt two ways is stuck, flagged, now and as of now, whole and paged', async ({ query }) => {
    const now = (await t.as('auditor').get(`/reports/stuck-devices?${query}`).expect(200)).body;
    expect(now).toMatchObject({ count: 2, devices: [spelt, { deviceId: OTHER, copiesDisagree: true }] });
    const paged = (await t.as('auditor').get(`/reports/stuck-devices?${query}&limit=1`).expect(200)).body;
    expect(paged).toMatchObject({ count: 2, offset: 0, devices: [spelt] });
    const bySince = (await t.as('auditor').get(`/reports/stuck-devices?${query}&sort=since&order=desc&limit=5`).expect(200)).body;
    expect(ids(bySince)).toEqual([ESME, OTHER]);
    const computed = (await t.as('auditor').get(`/reports/stuck-devices?${query}&at=${encodeURIComponent(now.at)}`).expect(200)).body;
    expect(computed.devices).toEqual(now.devices);
    if (query) {
      // nobody can repair it: evaluate() refuses the registered NO `proxy-copies-disagree`
      expect(now.repairable).toBe(0);
      expect(now.devices[0].repairs).toEqual([expect.objectContaining({ who: 'registered operator', userId: NO_A, accepted: false, reason: expect.stringContaining('disagree') })]);
      expect(computed.repairable).toBe(0);
    }
  });

  it.each(['baseline@5', 'baseline', 'registered-operator'])('asked under %s, the same device is not stuck, now or as of now', async (ruleSet) => {
    const now = (await t.as('auditor').get(`/reports/stuck-devices?ruleSet=${ruleSet}`).expect(200)).body;
    expect(now).toMatchObject({ count: 1, devices: [{ deviceId: OTHER }] });
    expect(now.repairable).toBe(now.devices.filter((d: { repairable: boolean }) => d.repairable).length);
    expect((await t.as('auditor').get(`/reports/stuck-devices?ruleSet=${ruleSet}&limit=10`).expect(200)).body).toMatchObject({ count: 1, devices: [{ deviceId: OTHER }] });
    expect(ids((await t.as('auditor').get(`/reports/stuck-devices?ruleSet=${ruleSet}&at=${encodeURIComponent(now.at)}`).expect(200)).body)).toEqual([OTHER]);
  });

  it('no= finds a device stuck by its copies by its S1SP copy\'s owner, now and as of now', async () => {
    const now = (await t.as('auditor').get(`/reports/stuck-devices?no=${NO_B}`).expect(200)).body;
    expect(now).toMatchObject({ count: 1, devices: [{ deviceId: OTHER, certificateOwner: NO_A, copyOwners: { DSP: NO_A, S1SP: NO_B } }] });
    const computed = (await t.as('auditor').get(`/reports/stuck-devices?no=${NO_B}&at=${encodeURIComponent(now.at)}`).expect(200)).body;
    expect(ids(computed)).toEqual([OTHER]);
    expect(ids((await t.as('auditor').get(`/reports/stuck-devices?no=${NO_A}&limit=10`).expect(200)).body)).toEqual([ESME, OTHER]);
  });
});
