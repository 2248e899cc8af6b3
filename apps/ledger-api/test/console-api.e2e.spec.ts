import Database from 'better-sqlite3';
import type { SqliteEventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { Projector } from '@ledger/projections';
import { buildConsole } from '../../ledger-console/test/browser';
import { ACTORS, startTestApp } from './test-app';

/** The API the console relies on, over HTTP on a small demo estate; and the console served at /console. */
describe('the API behind the audit console', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    buildConsole();
    t = await startTestApp('baseline');
    await runDemo(t.app.get(Ledger), { devices: 120, seed: 5 });
    await t.app.get(Projector).waitFor((await t.store.headPosition())!, 60_000);
  }, 120_000);
  afterAll(() => t.close());

  it('serves the console page (no key needed, this origin only) and its modules, and nothing else from disk', async () => {
    const page = await t.http().get('/console').expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.text).toContain('/console/js/ui/main.js');
    const main = await t.http().get('/console/js/ui/main.js').expect(200);
    expect(main.headers['content-type']).toContain('text/javascript');
    expect(main.text).toContain("from './api.js'");
    await t.http().get('/console/js/ui/pages/stuck.js').expect(200);
    await t.http().get('/console/js/view/timeline.js').expect(200);
    await t.http().get('/console/js/ui/nope.js').expect(404);
    await t.http().get('/console/js/..%2F..%2Fpackage.json/x.js').expect(404);
    await t.http().get('/console/js/ui/..%2F..%2F..%2Fpackage.json').expect(404);
  });

  it('looks a User up by User ID, as the API does for other identifiers', async () => {
    const user = await t.as('auditor').get('/users/90-B3-D5-1F-30-03-00-14').expect(200);
    expect(user.body).toMatchObject({ userId: '90-B3-D5-1F-30-03-00-14', roles: { ED: { status: 'Active', marketIds: ['14'] } } });
    expect((await t.as('auditor').get('/users/90-B3-D5-1F-30-03-00-99').expect(404)).body.message).toContain('not known');
    expect((await t.as('auditor').get('/users/nonsense').expect(400)).body.field).toBe('userId');
    await t.as('intake').get('/users/90-B3-D5-1F-30-03-00-14').expect(403);
  });

  it("lists the devices on a meter point", async () => {
    const stuck = (await t.as('auditor').get('/reports/stuck-devices').expect(200)).body.devices[0];
    const res = await t.as('auditor').get(`/meter-points/${stuck.mpxn}/devices`).expect(200);
    expect(res.body.devices.map((d: { deviceId: string }) => d.deviceId)).toContain(stuck.deviceId);
  });

  it('pages the stuck report: the pages together are the whole report, filtered and sorted by the API', async () => {
    const at = new Date().toISOString();
    const whole = (await t.as('auditor').get(`/reports/stuck-devices?ruleSet=ownership-only&at=${at}`).expect(200)).body;
    expect(whole.count).toBeGreaterThan(3);
    const seen: string[] = [];
    let after = '';
    do {
      const page = (await t.as('auditor').get(`/reports/stuck-devices?ruleSet=ownership-only&at=${at}&limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`).expect(200)).body;
      expect(page).toMatchObject({ count: whole.count, repairable: whole.repairable, ruleSet: { id: 'ownership-only' } });
      expect(page.devices.length).toBeLessThanOrEqual(2);
      seen.push(...page.devices.map((d: { deviceId: string }) => d.deviceId));
      after = page.next ?? '';
    } while (after);
    expect(seen).toEqual(whole.devices.map((d: { deviceId: string }) => d.deviceId));

    const no = whole.devices[0].registeredOperator;
    const byNo = (await t.as('auditor').get(`/reports/stuck-devices?at=${at}&no=${no}&sort=since&order=desc&limit=1000`).expect(200)).body;
    expect(byNo.devices.length).toBe(whole.devices.filter((d: { registeredOperator: string; certificateOwner: string }) => d.registeredOperator === no || d.certificateOwner === no).length);
    const since = byNo.devices.map((d: { since: string }) => d.since);
    expect(since).toEqual([...since].sort().reverse());
    const area = whole.devices[0].mpxn.slice(0, 2);
    const byArea = (await t.as('auditor').get(`/reports/stuck-devices?at=${at}&area=${area}&limit=1000`).expect(200)).body;
    expect(byArea.devices.every((d: { mpxn: string }) => d.mpxn.length === 13 && d.mpxn.startsWith(area))).toBe(true);
    expect((await t.as('auditor').get('/reports/stuck-devices?sort=colour').expect(400)).body.field).toBe('sort');
    expect((await t.as('auditor').get('/reports/stuck-devices?area=London').expect(400)).body.field).toBe('area');
  });

  it('runs a what-if window by window: the windows sum to the whole run, and a window pages its changes', async () => {
    const whole = (await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', limit: 1000 }).expect(200)).body;
    expect(whole.changes.total).toBeGreaterThan(0);
    let from = '0';
    let judged = 0;
    let changed = 0;
    const windows: Array<{ from: string; to: string }> = [];
    for (;;) {
      const r = (await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', fromPosition: from, maxEvents: 150, limit: 1000 }).expect(200)).body;
      judged += r.judged;
      changed += r.changes.total;
      expect(r.window.eventsRead).toBeLessThanOrEqual(150);
      if (r.window.lastPosition) windows.push({ from, to: r.window.lastPosition });
      if (r.window.nextPosition === null) break;
      from = r.window.nextPosition;
    }
    expect(windows.length).toBeGreaterThan(2);
    expect({ judged, changed }).toEqual({ judged: whole.judged, changed: whole.changes.total });
    const items: string[] = [];
    for (const w of windows) {
      const r = (await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', fromPosition: w.from, toPosition: w.to, limit: 1000 }).expect(200)).body;
      items.push(...r.changes.items.map((c: { requestId: string }) => c.requestId));
    }
    expect(items).toEqual(whole.changes.items.map((c: { requestId: string }) => c.requestId));
    expect((await t.as('auditor').post('/replays', { ruleSet: 'ownership-only', fromPosition: 'x' }).expect(400)).body.field).toBe('fromPosition');
  });

  it('answers the last verification recorded in the store, with when, how many events and who asked', async () => {
    expect((await t.as('auditor').get('/audit/verify/last').expect(200)).body).toEqual({ none: true });
    const head = (await t.store.headPosition())! + 1n; // and the verification's own start, recorded before it runs
    await t.as('auditor').get('/audit/verify').expect(200);
    let last = (await t.as('auditor').get('/audit/verify/last').expect(200)).body;
    for (let i = 0; i < 100 && last.none; i++) {
      await new Promise((r) => setTimeout(r, 20)); // the job's record reaches the read models
      last = (await t.as('auditor').get('/audit/verify/last').expect(200)).body;
    }
    expect(last).toMatchObject({ ok: true, eventsChecked: Number(head), breaks: [], positionThrough: String(head), requestedBy: ACTORS.auditor });
    expect(Date.parse(last.at)).not.toBeNaN();
    // Sixty verifications that did not run (refused during a lock, cancelled) after it: it is still the last one recorded.
    const ledger = t.app.get(Ledger);
    for (let i = 0; i < 60; i++) {
      const at = new Date().toISOString();
      await ledger.recordAuditJob({ jobId: `not-run-${i}`, kind: 'verify', state: 'failed', requestedBy: 'api:auditor', requestedAt: at, startedAt: null, endedAt: at, positionThrough: null, params: {}, findings: {}, error: 'not run; its start could not be recorded: store busy' }, { actor: 'api:auditor' });
    }
    await t.app.get(Projector).waitFor((await t.store.headPosition())!, 10_000);
    expect((await t.as('auditor').get('/audit/verify/last').expect(200)).body).toMatchObject({ positionThrough: String(head), requestedBy: ACTORS.auditor });
  });

  it('the verification and the last one say how many breaks, unreadable events and missing runs they found and how many streams are broken, listing the first 20 (until 2026-11-27 the console counted the list, GET /audit/verify listed every one, and the last one did not say the streams broken)', async () => {
    const db = new Database((t.store as SqliteEventStore).file);
    try {
      for (let p = 100; p < 150; p += 2) db.prepare('DELETE FROM events WHERE position = ?').run(p); // 25 runs of one position, deleted from the middle of the log
    } finally {
      db.close();
    }
    const verified = (await t.as('auditor').get('/audit/verify').expect(200)).body;
    expect(verified).toMatchObject({ ok: false, missingCount: 25, unreadableCount: 0, breakCount: verified.breaks.length, missing: Array.from({ length: 20 }, (_, i) => ({ from: String(100 + 2 * i), to: String(100 + 2 * i) })) });
    let last = (await t.as('auditor').get('/audit/verify/last').expect(200)).body;
    for (let i = 0; i < 100 && last.positionThrough !== verified.position; i++) {
      await new Promise((r) => setTimeout(r, 20)); // the job's record reaches the read models
      last = (await t.as('auditor').get('/audit/verify/last').expect(200)).body;
    }
    expect(verified.streamsBroken).toBeGreaterThan(0);
    expect(last).toMatchObject({ ok: false, missingCount: 25, unreadableCount: 0, breakCount: verified.breakCount, streamsBroken: verified.streamsBroken, missing: verified.missing, breaks: verified.breaks });
  });
});
