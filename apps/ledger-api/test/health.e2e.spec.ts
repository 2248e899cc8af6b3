import { HealthCheckService } from '@nestjs/terminus';
import { Projector } from '@ledger/projections';
import { startTestApp } from './test-app';

describe('GET /health', () => {
  it('answers 200 with the store kind and that it is reachable, without a key', async () => {
    const t = await startTestApp();
    try {
      const res = await t.http().get('/health').expect(200);
      expect(res.body).toMatchObject({ status: 'ok', store: { kind: 'sqlite', reachable: true }, readModels: { position: null } });
    } finally {
      await t.close();
    }
  });
});

describe('GET /health/ready in OpenAPI', () => {
  it("documents its 503 in the API's error shape (until 2026-11-28, eighteenth session, the 503 not at all: swaggerDocumentation false left the route without it)", async () => {
    const t = await startTestApp();
    try {
      const { paths } = (await t.http().get('/docs-json').expect(200)).body;
      expect(paths['/health/ready'].get.responses['503']).toEqual({ description: expect.stringContaining('NOT_READY') });
      expect(paths['/health/ready'].get.responses['200']).toEqual({ description: expect.stringContaining('Ready') }); // swaggerDocumentation false took Terminus's 200 too
    } finally {
      await t.close();
    }
  });
});

describe('a projector whose attempts fail (the read models cannot be written: a full disk, say)', () => {
  it('is 503 on /health and /health/ready, naming since when and why, while it retries; 200 again once it has caught up', async () => {
    const t = await startTestApp();
    const projector = t.app.get(Projector);
    const full = jest.spyOn(projector.writer, 'applyBatch').mockImplementation(() => {
      throw new Error('database or disk is full');
    });
    try {
      // recorded (the store has room), and answered as not in the read models (until 2026-11-27 a recording command's reply did not say)
      expect((await t.as('intake').post('/users', { userId: '90-B3-D5-1F-30-01-00-01', role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200)).body).toMatchObject({ written: true, position: '1', projected: false });
      const health = await until(async () => (await t.http().get('/health')).body, (b) => b.status !== 'ok');
      // until 2026-11-27: 200 "ok" (lag 1), and /health/ready 200, while every attempt failed
      expect(health).toMatchObject({ status: 'projector-failing', readModels: { halted: null, failing: { since: expect.any(String), reason: 'database or disk is full', during: 'catch-up' }, lag: 1 } });
      await t.http().get('/health').expect(503);
      // In the API's error shape, with Terminus's details (until 2026-11-28, eighteenth session, Terminus's body alone: `error` held the checks down).
      expect((await t.http().get('/health/ready').expect(503)).body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'NOT_READY',
        message: expect.stringMatching(/^not ready: projector failing since \S+ \(catch-up\): database or disk is full$/),
        status: 'error',
        info: { store: { status: 'up', kind: 'sqlite' } },
        details: { store: { status: 'up', kind: 'sqlite' }, projector: { status: 'down', failing: { since: expect.any(String), reason: 'database or disk is full', during: 'catch-up' } } },
      });
      full.mockRestore();
      const after = await until(async () => (await t.http().get('/health')).body, (b) => b.status === 'ok');
      expect(after.readModels).toMatchObject({ position: '1', failing: null, lag: 0 });
      await t.http().get('/health/ready').expect(200);
      expect((await t.as('intake').post('/users', { userId: '90-B3-D5-1F-30-01-00-02', role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200)).body).toMatchObject({ written: true, projected: true });
    } finally {
      full.mockRestore();
      await t.close();
    }
  }, 60_000);
});

describe('a projector whose live part fails every time, each catch-up between succeeding', () => {
  it('is 503 projector-failing on /health and /health/ready, saying it is the subscription; 200 again once it holds', async () => {
    const t = await startTestApp();
    const projector = t.app.get(Projector);
    // Its look at the checkpoint, which never waits on a lock (each catch-up reads with the busy timeout).
    const locked = jest.spyOn(projector.writer.db, 'noWait').mockImplementation(() => {
      throw new Error('SQLITE_BUSY: database is locked');
    });
    try {
      expect((await t.as('intake').post('/users', { userId: '90-B3-D5-1F-30-01-00-01', role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200)).body).toMatchObject({ written: true, projected: true });
      const health = await until(async () => (await t.http().get('/health')).body, (b) => b.status !== 'ok');
      // until 2026-11-27 (thirteenth session): 200 ok throughout, each catch-up's success clearing the subscription's failure
      expect(health).toMatchObject({ status: 'projector-failing', readModels: { failing: { since: expect.any(String), reason: 'SQLITE_BUSY: database is locked', during: 'subscription' }, lag: 0 } });
      expect((await t.http().get('/health/ready').expect(503)).body).toMatchObject({ statusCode: 503, code: 'NOT_READY', message: expect.stringContaining('projector failing since'), details: { projector: { status: 'down', failing: { during: 'subscription' } } } });
      locked.mockRestore();
      await until(async () => (await t.http().get('/health')).body, (b) => b.status === 'ok');
      await t.http().get('/health/ready').expect(200);
    } finally {
      locked.mockRestore();
      await t.close();
    }
  }, 60_000);
});

describe('read models further behind the store than LEDGER_READY_MAX_LAG', () => {
  it('are a 503 NOT_READY on /health/ready saying how far behind, in the API\'s error shape (until 2026-11-28, eighteenth session, Terminus\'s body)', async () => {
    const t = await startTestApp('baseline', { LEDGER_READY_MAX_LAG: '0' });
    try {
      await t.as('intake').post('/users', { userId: '90-B3-D5-1F-30-01-00-01', role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
      await t.http().get('/health/ready').expect(200);
      jest.spyOn(t.app.get(Projector), 'position', 'get').mockReturnValue(undefined); // as if it had projected nothing yet
      expect((await t.http().get('/health/ready').expect(503)).body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'NOT_READY',
        message: 'not ready: projector 1 event(s) behind the store, more than LEDGER_READY_MAX_LAG (0)',
        status: 'error',
        info: { store: { status: 'up', kind: 'sqlite' } },
        details: { store: { status: 'up', kind: 'sqlite' }, projector: { status: 'down', position: null, lag: 1, maxLag: 0 } },
      });
    } finally {
      jest.restoreAllMocks();
      await t.close();
    }
  });
});

describe('an instance shutting down', () => {
  it('is a 503 NOT_READY saying so (its checks all up: the message named nothing)', async () => {
    const t = await startTestApp();
    try {
      (t.app.get(HealthCheckService) as unknown as { healthCheckExecutor: { beforeApplicationShutdown(): void } }).healthCheckExecutor.beforeApplicationShutdown(); // as the application's shutdown begins: a probe already in flight
      expect((await t.http().get('/health/ready').expect(503)).body).toMatchObject({ code: 'NOT_READY', message: 'not ready: shutting down', status: 'shutting_down' });
    } finally {
      await t.close();
    }
  });
});

describe('a projector whose attempt fails once', () => {
  it('is not projector-failing: one failed attempt, retried within a second, is no reason to take the instance out of a balancer', async () => {
    const t = await startTestApp();
    const projector = t.app.get(Projector);
    const busy = jest.spyOn(projector.writer, 'applyBatch').mockImplementationOnce(() => {
      throw new Error('database is locked');
    });
    try {
      const seen: number[] = [];
      let done = false;
      const reply = Promise.resolve(t.as('intake').post('/users', { userId: '90-B3-D5-1F-30-01-00-01', role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200)).finally(() => (done = true));
      while (!done) {
        seen.push((await t.http().get('/health/ready')).status);
        await new Promise((r) => setTimeout(r, 25));
      }
      // until the review of 2026-11-27: 503 projector-failing from the first failure to the retry
      expect((await reply).body).toMatchObject({ written: true, projected: true });
      expect(busy).toHaveBeenCalled();
      expect(seen.length).toBeGreaterThan(5);
      expect(seen.filter((s) => s !== 200)).toEqual([]);
    } finally {
      busy.mockRestore();
      await t.close();
    }
  }, 60_000);
});

async function until<T>(get: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await get();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('never');
}
