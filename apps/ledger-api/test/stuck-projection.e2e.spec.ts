import { Ledger, runDemo } from '@ledger/ledger';
import { ProjectionWriter, Projector } from '@ledger/projections';
import { startTestApp } from './test-app';

/** The stuck-device report now, from its projection: the same devices as the report computed from history, paged by the database. */
describe('the stuck-device projection', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    t = await startTestApp('baseline');
    await runDemo(t.app.get(Ledger), { devices: 300, seed: 11 });
    await t.app.get(Projector).waitFor((await t.store.headPosition())!, 60_000);
  }, 120_000);
  afterAll(() => t.close());

  const ids = (list: Array<{ deviceId: string }>) => list.map((d) => d.deviceId);

  it('holds exactly the devices the computed report finds now, with the same status', async () => {
    const now = (await t.as('auditor').get('/reports/stuck-devices').expect(200)).body;
    const computed = (await t.as('auditor').get(`/reports/stuck-devices?at=${encodeURIComponent(now.at)}`).expect(200)).body;
    expect(now.count).toBeGreaterThan(5);
    expect(now.devices).toEqual(computed.devices);
    // and a rebuild from the store gives the same projection
    const before = t.app.get(ProjectionWriter).dump().stuck_status;
    await t.as('admin').post('/admin/rebuild').expect(200);
    const after = t.app.get(ProjectionWriter).dump().stuck_status;
    expect(after).toEqual(before);
  }, 60_000);

  it.each([
    ['deviceId', 'asc'],
    ['since', 'desc'],
    ['registeredOperator', 'asc'],
    ['mpxn', 'desc'],
  ])('pages sorted by %s %s: the pages together are the whole report in that order, with remedies for each page', async (sort, order) => {
    const whole = (await t.as('auditor').get(`/reports/stuck-devices?sort=${sort}&order=${order}&limit=1000&ruleSet=ownership-only`).expect(200)).body;
    expect(whole.devices).toHaveLength(whole.count);
    const key = (d: Record<string, string | null>) => `${d[sort] ?? ''}|${d.deviceId}`;
    const keys = whole.devices.map(key);
    expect(keys).toEqual([...keys].sort((a: string, b: string) => (order === 'desc' ? (a < b ? 1 : -1) : a < b ? -1 : 1)));
    const seen: Array<{ deviceId: string }> = [];
    let after = '';
    let offset = 0;
    do {
      const page = (await t.as('auditor').get(`/reports/stuck-devices?sort=${sort}&order=${order}&limit=7&ruleSet=ownership-only${after ? `&after=${encodeURIComponent(after)}` : ''}`).expect(200)).body;
      expect(page).toMatchObject({ count: whole.count, offset, ruleSet: { id: 'ownership-only' } });
      expect(page.repairableOnPage).toBe(page.devices.filter((d: { repairable: boolean }) => d.repairable).length);
      for (const d of page.devices) expect(d.repairs.map((r: { who: string }) => r.who)).toEqual(['registered operator', 'certificate owner']);
      seen.push(...page.devices);
      offset += page.devices.length;
      after = page.next ?? '';
    } while (after);
    expect(ids(seen)).toEqual(ids(whole.devices));
  }, 60_000);

  it('filters by network operator, area and since as the computed report does', async () => {
    const now = (await t.as('auditor').get('/reports/stuck-devices').expect(200)).body;
    const at = encodeURIComponent(now.at);
    const no = now.devices[0].certificateOwner;
    const area = now.devices[0].mpxn.slice(0, 2);
    const since = now.devices[Math.floor(now.devices.length / 2)].since;
    for (const filter of [`no=${no}`, `area=${area}`, `sinceFrom=${encodeURIComponent(since)}`, `sinceTo=${encodeURIComponent(since)}&area=${area}`]) {
      const projected = (await t.as('auditor').get(`/reports/stuck-devices?${filter}&limit=1000`).expect(200)).body;
      const computed = (await t.as('auditor').get(`/reports/stuck-devices?${filter}&limit=1000&at=${at}`).expect(200)).body;
      expect({ filter, count: projected.count, devices: ids(projected.devices) }).toEqual({ filter, count: computed.count, devices: ids(computed.devices) });
    }
  });

  it('a Registration Data change effective a moment ahead changes the report once its time has come, with no new event', async () => {
    const before = (await t.as('auditor').get('/reports/stuck-devices').expect(200)).body;
    const device = before.devices[0];
    // From a moment ahead, the certificate's owner becomes the registered NO: the device is no longer stuck then.
    const effectiveFrom = new Date(Date.now() + 1500).toISOString();
    await t.as('intake').post('/registrations', { mpxn: device.mpxn, responsibility: 'networkOperator', partyUserId: device.certificateOwner, effectiveFrom, recordId: 'AHEAD-1' }).expect(200);
    expect(ids((await t.as('auditor').get('/reports/stuck-devices').expect(200)).body.devices)).toContain(device.deviceId);
    await new Promise((r) => setTimeout(r, 1700));
    const after = (await t.as('auditor').get('/reports/stuck-devices').expect(200)).body;
    expect(ids(after.devices)).not.toContain(device.deviceId);
    expect(after.count).toBe(before.count - 1);
  });

  it('unpaged, the whole report, read from the projection 1,000 rows at a time: every row once, in device-id order', async () => {
    const before = (await t.as('auditor').get('/reports/stuck-devices').expect(200)).body;
    // 1,001 rows more (as stuck rows of devices the estate does not hold), so that the report takes two more pages than it did.
    const db = t.app.get(ProjectionWriter).db.db;
    const put = db.prepare("INSERT INTO stuck_status (device_id, stuck, mpxn, status) VALUES (?, 1, '1412345678901', ?)");
    const extra = Array.from({ length: 1001 }, (_, n) => `00-DB-FF-FF-FF-FF-${(n >> 8).toString(16).padStart(2, '0').toUpperCase()}-${(n & 0xff).toString(16).padStart(2, '0').toUpperCase()}`);
    db.transaction(() => {
      for (const id of extra) put.run(id, JSON.stringify({ deviceId: id, stuck: true, mpxn: '1412345678901', registeredOperator: null, certificateOwner: null, since: null }));
    })();
    const whole = (await t.as('auditor').get('/reports/stuck-devices').expect(200)).body;
    expect(whole.count).toBe(before.count + 1001);
    expect(ids(whole.devices)).toEqual([...ids(before.devices), ...extra].sort());
    db.prepare("DELETE FROM stuck_status WHERE device_id LIKE '00-DB-FF-FF-FF-FF-%'").run();
  });
});
