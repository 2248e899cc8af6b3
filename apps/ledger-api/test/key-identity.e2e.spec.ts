import { ledgerEventOf, parseServiceRequest } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ACTOR, ESME, KEY, LEDGER_API_KEYS, MPAN, SUPPLIER } from './named-keys';
import { freePort, killHard, startServerSaying } from './server-process';
import { startTestApp } from './test-app';

/**
 * Which key did it, not only its role: each configured key is recorded as `api:<role>:<id>`, or
 * `api:<role>:<id>:<name>` when LEDGER_API_KEYS names it (`key:role@name`), its id 12 hex digits
 * of the key's scrypt (the README's `openssl kdf` one-liner gives those of named-keys.ts): in the
 * metadata of the events a command writes, in an audit job's `requestedBy` and its recorded events,
 * and in the request's log line. Until 2026-11-28 all of these said `api:<role>` alone.
 */

type App = Awaited<ReturnType<typeof startTestApp>>;

describe('the key that did it, recorded', () => {
  let t: App;
  const post = (key: string, url: string, body: object) => t.http().post(url).set('x-api-key', key).send(body);
  const get = (key: string, url: string) => t.http().get(url).set('x-api-key', key);
  const read = async (stream: string) => {
    const out: RecordedEvent[] = [];
    for await (const e of t.store.readStream(stream)) out.push(e);
    return out;
  };
  /** The request's log line (the logger writes asynchronously). */
  const logLine = async (correlationId: string) => {
    for (let i = 0; i < 100; i++) {
      const line = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.correlationId === correlationId && l.req !== undefined);
      if (line) return line;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no log line for ${correlationId}`);
  };
  /** The decision a RequestID was recorded as, with its metadata. */
  const decisionOf = async (requestId: string) =>
    (await read(`device-${ESME}`)).filter((e) => (ledgerEventOf(e.stream, e.type, e.data)!.data as { request?: { requestId: string } }).request?.requestId === requestId);

  beforeAll(async () => {
    t = await startTestApp('baseline', { LEDGER_API_KEYS });
    await post(KEY.feedA, '/users', { userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    await post(KEY.feedB, '/registrations', { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
    await post(KEY.ops, '/devices', { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
  });
  afterAll(() => t.close());

  it("each command's events carry its key's actor, named or not, and its log line the same, never the key", async () => {
    expect((await read(`user-${SUPPLIER}`)).map((e) => e.metadata.actor)).toEqual([ACTOR.feedA]);
    expect((await read(`meterpoint-${MPAN}`)).map((e) => e.metadata.actor)).toEqual([ACTOR.feedB]);
    expect((await read(`device-${ESME}`)).map((e) => e.metadata.actor)).toEqual([ACTOR.ops]);
    await post(KEY.feedA, '/service-requests', { requestId: `${SUPPLIER}:${ESME}:1`, srv: '4.1.1' }).set('x-correlation-id', 'key-id-1').expect(200);
    expect((await decisionOf(`${SUPPLIER}:${ESME}:1`)).map((e) => e.metadata.actor)).toEqual([ACTOR.feedA]);
    expect(await logLine('key-id-1')).toMatchObject({ actor: ACTOR.feedA, requestId: `${SUPPLIER}:${ESME}:1`, req: { headers: { 'x-api-key': '[redacted]' } } });
    // A key refused for its role is still named in its line (who tried); an unknown key is not (no key of ours).
    await post(KEY.deskX, '/service-requests', { requestId: `${SUPPLIER}:${ESME}:2`, srv: '4.1.1' }).set('x-correlation-id', 'key-id-2').expect(403);
    expect(await logLine('key-id-2')).toMatchObject({ actor: ACTOR.deskX, res: { statusCode: 403 } });
    await post('not-a-key-of-ours', '/service-requests', { requestId: `${SUPPLIER}:${ESME}:2`, srv: '4.1.1' }).set('x-correlation-id', 'key-id-3').expect(401);
    expect(await logLine('key-id-3')).not.toHaveProperty('actor');
    const log = t.logs.join('\n');
    for (const key of Object.values(KEY)) expect(log).not.toContain(key);
  });

  it('a request sent again, with the same key or another, is the request recorded: nothing written, its first actor kept', async () => {
    const requestId = `${SUPPLIER}:${ESME}:10`;
    const first = await post(KEY.feedA, '/service-requests', { requestId, srv: '4.1.1' }).expect(200);
    expect(first.body).toMatchObject({ written: true });
    const head = await t.store.headPosition();
    // The client's retry with its own key; the same request from the other intake key (a second node
    // of the same sender, say); and from the admin key: who sent it is not what it says.
    for (const [key, correlationId] of [[KEY.feedA, 'retry-same-key'], [KEY.feedB, 'retry-other-key'], [KEY.ops, 'retry-admin']]) {
      const again = await post(key, '/service-requests', { requestId, srv: '4.1.1' }).set('x-correlation-id', correlationId).expect(200);
      expect(again.body).toMatchObject({ written: false, recorded: 'before (the RequestID was decided already; nothing written)', outcome: first.body.outcome, position: first.body.position });
    }
    expect(await t.store.headPosition()).toBe(head);
    expect((await decisionOf(requestId)).map((e) => e.metadata.actor)).toEqual([ACTOR.feedA]);
    // Each retry's own key is in its log line.
    expect(await logLine('retry-other-key')).toMatchObject({ actor: ACTOR.feedB, requestId, res: { statusCode: 200 } });
    // A Registration Data record sent again by the other intake key: recorded before, its first actor kept.
    const rdp = await post(KEY.feedA, '/registrations', { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
    expect(rdp.body).toMatchObject({ written: false });
    expect((await read(`meterpoint-${MPAN}`)).map((e) => e.metadata.actor)).toEqual([ACTOR.feedB]);
  });

  it('an event recorded as api:<role> (before 2026-11-28) keeps it: a retry over a key finds it, and verify finds no break', async () => {
    const requestId = `${SUPPLIER}:${ESME}:20`;
    await t.app.get(Ledger).submit(parseServiceRequest({ requestId, srv: '4.1.1', receivedAt: new Date().toISOString(), format: 'json' }), { actor: 'api:intake' });
    const head = await t.store.headPosition();
    expect((await post(KEY.feedB, '/service-requests', { requestId, srv: '4.1.1' }).expect(200)).body).toMatchObject({ written: false });
    expect(await t.store.headPosition()).toBe(head);
    expect((await decisionOf(requestId)).map((e) => e.metadata.actor)).toEqual(['api:intake']);
    expect((await get(KEY.deskY, '/audit/verify').expect(200)).body).toMatchObject({ ok: true, breakCount: 0 });
  });

  it("an audit job's requestedBy, and the actor of its recorded events, is the key that started it", async () => {
    const started = await post(KEY.deskX, '/jobs', { kind: 'verify' }).expect(202);
    expect(started.body).toMatchObject({ requestedBy: ACTOR.deskX });
    let job = started.body as { id: string; state: string };
    for (let i = 0; i < 600 && !['succeeded', 'failed', 'cancelled'].includes(job.state); i++) {
      await new Promise((r) => setTimeout(r, 50));
      job = (await get(KEY.deskY, `/jobs/${started.body.id}`).expect(200)).body;
    }
    expect(job).toMatchObject({ state: 'succeeded', requestedBy: ACTOR.deskX });
    let events = await read(`auditjob-${job.id}`);
    for (let i = 0; i < 100 && !events.some((e) => e.type === 'AuditJobRecorded'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      events = await read(`auditjob-${job.id}`);
    }
    expect(events.map((e) => [e.type, e.metadata.actor, (e.data as { requestedBy?: string }).requestedBy])).toEqual([
      ['AuditJobStarted', ACTOR.deskX, ACTOR.deskX],
      ['AuditJobRecorded', ACTOR.deskX, ACTOR.deskX],
    ]);
    // The awaited route (a verify job too) records the key that asked.
    await get(KEY.deskY, '/audit/verify').expect(200);
    expect((await get(KEY.deskX, '/audit/verify/last').expect(200)).body).toMatchObject({ requestedBy: ACTOR.deskY });
  }, 60_000);

  it('a job cancelled by another key: its end is recorded as the act of the key that cancelled it, its requestedBy the one that asked', async () => {
    // Several at once (one runs at a time): those still queued or running when DELETE comes are cancelled.
    const started = await Promise.all(Array.from({ length: 4 }, () => post(KEY.deskX, '/jobs', { kind: 'verify' }).expect(202)));
    const cancels = await Promise.all(started.map((s) => t.http().delete(`/jobs/${s.body.id}`).set('x-api-key', KEY.deskY)));
    const cancelled = cancels.filter((r) => r.status === 200).map((r) => r.body as { id: string; state: string; requestedBy: string; cancelledBy: string });
    if (cancelled.length === 0) throw new Error('no job was still queued or running when cancelled');
    for (const job of cancelled) {
      expect(job).toMatchObject({ state: 'cancelled', requestedBy: ACTOR.deskX, cancelledBy: ACTOR.deskY });
      const ended = (await read(`auditjob-${job.id}`)).find((e) => e.type === 'AuditJobRecorded')!;
      expect([ended.metadata.actor, (ended.data as { requestedBy: string; state: string }).requestedBy, (ended.data as { state: string }).state]).toEqual([ACTOR.deskY, ACTOR.deskX, 'cancelled']);
    }
  }, 60_000);

  it('the configured keys shorter than 32 characters are warned of once the API listens, by entry, never the key (a start that fails writes its one line alone: see operable.e2e)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-keys-'));
    const { child, output } = await startServerSaying(dir, await freePort(), { LEDGER_API_KEYS, LEDGER_LOG_LEVEL: 'info' }, 'shorter than 32 characters');
    try {
      const lines = output.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string });
      const listening = lines.findIndex((l) => l.msg.includes('listening on'));
      const warning = lines.findIndex((l) => l.msg.includes('shorter than 32 characters'));
      expect(listening).toBeGreaterThanOrEqual(0);
      expect(warning).toBeGreaterThan(listening);
      expect(lines[warning]).toMatchObject({ level: 40, msg: expect.stringMatching(/^LEDGER_API_KEYS entries 1, 2, 3, 4, 5: keys shorter than 32 characters;/) });
      for (const key of Object.values(KEY)) expect(output).not.toContain(key);
    } finally {
      await killHard(child);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
