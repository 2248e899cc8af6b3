import { ACTOR, ESME, KEY, LEDGER_API_KEYS, MPAN, SUPPLIER } from './named-keys';
import { startTestApp } from './test-app';

/**
 * Which key did what, asked of the read models (since 2026-11-28, eighteenth session): GET /decisions
 * and a device's history show each entry's actor and take `actor=`; GET /jobs/recorded names who
 * cancelled a job. Before, the actor was in the events' metadata only.
 */

describe('which key did what, from the read models', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  const post = (key: string, url: string, body: object) => t.http().post(url).set('x-api-key', key).send(body);
  const get = (key: string, url: string) => t.http().get(url).set('x-api-key', key);

  beforeAll(async () => {
    t = await startTestApp('baseline', { LEDGER_API_KEYS });
    await post(KEY.feedA, '/users', { userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    await post(KEY.feedB, '/registrations', { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
    await post(KEY.ops, '/devices', { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
    for (const [n, key] of [[1, KEY.feedA], [2, KEY.feedB], [3, KEY.feedA]] as const) {
      await post(key, '/service-requests', { requestId: `${SUPPLIER}:${ESME}:${n}`, srv: '4.1.1' }).expect(200);
    }
  });
  afterAll(() => t.close());

  it('GET /decisions shows each decision\'s actor and takes actor=: exact, or a key under every name by api:<role>:<id>', async () => {
    const all = (await get(KEY.deskX, '/decisions').expect(200)).body as { items: Array<{ requestId: string; actor: string }> };
    expect(all.items.map((d) => d.actor)).toEqual([ACTOR.feedA, ACTOR.feedB, ACTOR.feedA]);
    const by = async (actor: string) => ((await get(KEY.deskX, `/decisions?actor=${encodeURIComponent(actor)}`).expect(200)).body as { items: Array<{ requestId: string }> }).items.map((d) => d.requestId);
    expect(await by(ACTOR.feedA)).toEqual([`${SUPPLIER}:${ESME}:1`, `${SUPPLIER}:${ESME}:3`]);
    expect(await by('api:intake:893a09117d39')).toEqual([`${SUPPLIER}:${ESME}:1`, `${SUPPLIER}:${ESME}:3`]);
    expect(await by('893a09117d39')).toEqual([`${SUPPLIER}:${ESME}:1`, `${SUPPLIER}:${ESME}:3`]); // the key's id alone, as ledger key-ids prints it
    expect(await by(ACTOR.feedB)).toEqual([`${SUPPLIER}:${ESME}:2`]);
    expect(await by('api:intake')).toEqual([]);
    expect((await get(KEY.deskX, `/decisions/${SUPPLIER}:${ESME}:2`).expect(200)).body).toMatchObject({ actor: ACTOR.feedB });
  });

  // An empty actor= is refused as empty before it is read (query-params.e2e.spec.ts, every route's every parameter).
  it.each(['api:intake:not-an-id', 'api intake', 'a:b:c:d:e'])('GET /decisions?actor=%j is a 400 naming actor', async (actor) => {
    const r = await get(KEY.deskX, `/decisions?actor=${encodeURIComponent(actor)}`).expect(400);
    expect(r.body).toMatchObject({ field: 'actor', reason: expect.stringMatching(/^must (be an actor as recorded|name an API key as recorded)/) });
  });

  it("a device's history shows who recorded each entry, and takes actor=", async () => {
    const h = (await get(KEY.deskX, `/devices/${ESME}/history`).expect(200)).body as { timeline: Array<{ kind: string; actor: string }> };
    expect(h.timeline.map((e) => [e.kind, e.actor])).toEqual([
      ['inventory', ACTOR.ops],
      ['decision', ACTOR.feedA],
      ['decision', ACTOR.feedB],
      ['decision', ACTOR.feedA],
    ]);
    const mine = (await get(KEY.deskX, `/devices/${ESME}/history?actor=${ACTOR.ops}`).expect(200)).body as { actor: string; timeline: Array<{ kind: string }> };
    expect([mine.actor, mine.timeline.map((e) => e.kind)]).toEqual([ACTOR.ops, ['inventory']]);
    expect((await get(KEY.deskX, `/devices/${ESME}/history?actor=${ACTOR.deskY}`).expect(200)).body).toMatchObject({ timeline: [] });
    expect((await get(KEY.deskX, `/devices/${ESME}/history?actor=api:admin:XYZ`).expect(400)).body).toMatchObject({ field: 'actor', reason: expect.stringMatching(/^must name an API key as recorded/) });
    await get(KEY.deskX, `/devices/00-DB-12-34-56-78-90-99/history?actor=${ACTOR.ops}`).expect(404);
  });

  it('GET /jobs/recorded names who cancelled a job another key asked for, and each end\'s actor', async () => {
    const started = await Promise.all(Array.from({ length: 4 }, () => post(KEY.deskX, '/jobs', { kind: 'verify' }).expect(202)));
    const cancels = await Promise.all(started.map((s) => t.http().delete(`/jobs/${s.body.id}`).set('x-api-key', KEY.deskY)));
    const cancelled = new Set(cancels.filter((r) => r.status === 200).map((r) => (r.body as { id: string }).id));
    if (cancelled.size === 0) throw new Error('no job was still queued or running when cancelled');
    const ids = new Set(started.map((s) => (s.body as { id: string }).id));
    type Recorded = { jobId: string; state: string; requestedBy: string; actor: string; cancelledBy?: string };
    let items: Recorded[] = [];
    for (let i = 0; i < 300 && items.length < ids.size; i++) {
      items = ((await get(KEY.deskX, '/jobs/recorded').expect(200)).body as { items: Recorded[] }).items.filter((j) => ids.has(j.jobId));
      if (items.length < ids.size) await new Promise((r) => setTimeout(r, 50));
    }
    expect(items).toHaveLength(ids.size);
    for (const job of items) {
      if (cancelled.has(job.jobId)) expect(job).toMatchObject({ state: 'cancelled', requestedBy: ACTOR.deskX, actor: ACTOR.deskY, cancelledBy: ACTOR.deskY });
      else {
        expect(job).toMatchObject({ state: 'succeeded', requestedBy: ACTOR.deskX, actor: ACTOR.deskX });
        expect(job).not.toHaveProperty('cancelledBy');
      }
    }
  }, 60_000);
});
