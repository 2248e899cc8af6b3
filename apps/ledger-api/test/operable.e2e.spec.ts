import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ledgerEventOf, parseServiceRequest } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '@ledger/runtime';
import { serve } from '../src/main';
import { runServerToExit } from './server-process';
import { startTestApp } from './test-app';

/** What an operator relies on: the configuration, health, metrics, logs and headers. */

const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const ESME = '00-DB-12-34-56-78-90-01';
const MPAN = '1412345678901';

type App = Awaited<ReturnType<typeof startTestApp>>;

async function estate(t: App) {
  await t.as('intake').post('/users', { userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
  await t.as('intake').post('/registrations', { mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
  await t.as('intake').post('/devices', { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
}

describe('one validated configuration', () => {
  it.each`
    variable                          | value                  | message
    ${'PORT'}                         | ${'70000'}             | ${"PORT must be an integer from 0 to 65535, got '70000'"}
    ${'PORT'}                         | ${'80a'}               | ${"PORT must be an integer from 0 to 65535, got '80a'"}
    ${'LEDGER_STORE'}                 | ${'postgres'}          | ${"LEDGER_STORE must be 'sqlite' or 'esdb', got 'postgres'"}
    ${'LEDGER_STORE_TIMEOUT_MS'}      | ${'1.5'}               | ${"LEDGER_STORE_TIMEOUT_MS must be a whole number of milliseconds from 1 to 2147483647, got '1.5'"}
    ${'LEDGER_RULE_SET'}              | ${'lenient'}           | ${"LEDGER_RULE_SET must be one of baseline, ownership-only, registered-operator (the latest version), or id@version, got 'lenient'"}
    ${'LEDGER_LOG_LEVEL'}             | ${'loud'}              | ${"LEDGER_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'"}
    ${'LEDGER_METRICS_ACCESS'}        | ${'open'}              | ${"LEDGER_METRICS_ACCESS must be 'key' (an auditor or admin key) or 'public', got 'open'"}
    ${'LEDGER_CORS_ORIGINS'}          | ${'*'}                 | ${"LEDGER_CORS_ORIGINS must be a comma-separated list of origins (https://host[:port], no path: a browser sends its origin without one, so an origin with a path never matches), got '*'"}
  `('$variable=$value stops start-up, naming the variable and what it expects', async ({ variable, value, message }) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(message);
    await expect(serve({ [variable]: value })).rejects.toThrow(message);
  });

  it('an address or a port that cannot be listened on stops start-up naming HOST or PORT and its value', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-listen-'));
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const env = { LEDGER_SQLITE_PATH: path.join(dir, 'ledger.sqlite'), LEDGER_LOG_LEVEL: 'silent' };
      // until 2026-11-27: "getaddrinfo ENOTFOUND 999.1.1.1" and "listen EADDRINUSE: ...", naming no variable
      await expect(serve({ ...env, HOST: '999.1.1.1' })).rejects.toThrow(/^HOST could not be listened on \(getaddrinfo ENOTFOUND 999\.1\.1\.1\), got '999\.1\.1\.1'$/);
      const port = (taken.address() as net.AddressInfo).port;
      await expect(serve({ ...env, PORT: String(port) })).rejects.toThrow(new RegExp(`^PORT could not be listened on \\(listen EADDRINUSE.*\\) on HOST '127\\.0\\.0\\.1', got '${port}'$`));
    } finally {
      await new Promise((r) => taken.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a store or read-model file SQLite cannot open stops start-up naming its variable and the file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-open-'));
    try {
      const store = path.join(dir, 'ledger.sqlite');
      fs.symlinkSync(path.join(dir, 'gone', 'ledger.sqlite'), store); // a link into a directory that is not there (as a read-only one: SQLite cannot make the file)
      // until 2026-11-27: "unable to open database file", naming neither
      await expect(serve({ LEDGER_SQLITE_PATH: store, LEDGER_LOG_LEVEL: 'silent' })).rejects.toThrow(`LEDGER_SQLITE_PATH could not be opened (unable to open database file), got '${store}'`);
      fs.rmSync(store);
      const readModels = path.join(dir, 'elsewhere', 'readmodels.sqlite');
      fs.mkdirSync(path.dirname(readModels));
      fs.mkdirSync(`${readModels}-wal`); // its log cannot be made
      await expect(serve({ LEDGER_SQLITE_PATH: store, LEDGER_READMODEL_PATH: readModels, LEDGER_LOG_LEVEL: 'silent' })).rejects.toThrow(new RegExp(`^LEDGER_READMODEL_PATH could not be opened \\(.+\\), got '${readModels.replace(/\./g, '\\.')}'$`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  describe('a start that fails writes its one line alone on stderr; at LEDGER_LOG_LEVEL=debug, Nest\'s held start-up lines and the stack too (main.ts run from the sources, in a child process)', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-start-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('a store that cannot be opened (the application not built)', async () => {
      const store = path.join(dir, 'ledger.sqlite');
      fs.symlinkSync(path.join(dir, 'gone', 'ledger.sqlite'), store); // SQLite cannot make the file: the store cannot be opened
      const line = `ledger-api failed to start: LEDGER_SQLITE_PATH could not be opened (unable to open database file), got '${store}'\n`;
      // until 2026-11-28: Nest's buffered start-up lines and the SqliteError's stack first, some 20 lines
      expect(await runServerToExit({ LEDGER_SQLITE_PATH: store, LEDGER_LOG_LEVEL: 'info' })).toEqual({ code: 1, stdout: '', stderr: line });
      const debug = await runServerToExit({ LEDGER_SQLITE_PATH: store, LEDGER_LOG_LEVEL: 'debug' });
      expect(debug.code).toBe(1);
      expect(debug.stdout).toMatch(/Starting Nest application/);
      expect(debug.stderr).toMatch(/SqliteError: unable to open database file\n\s+at /);
      expect(debug.stderr.endsWith(line)).toBe(true);
    }, 120_000);

    it('a port taken (the application built, its listen refused)', async () => {
      const taken = net.createServer();
      await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
      try {
        const port = String((taken.address() as net.AddressInfo).port);
        // Keys short enough to be warned of: the warning is written once the API listens, so not here (until the seventeenth session's final read, before the line).
        const env = { LEDGER_SQLITE_PATH: path.join(dir, 'ledger.sqlite'), PORT: port, LEDGER_API_KEYS: 'short-key-1:intake,short-key-2:admin' };
        const line = new RegExp(`^ledger-api failed to start: PORT could not be listened on \\(listen EADDRINUSE[^\n]*\\) on HOST '127\\.0\\.0\\.1', got '${port}'\n$`);
        // as before 2026-11-28; from that day's first change until its mend, Nest's ~50 held lines came first, on stdout
        const info = await runServerToExit({ ...env, LEDGER_LOG_LEVEL: 'info' });
        expect(info).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(line) });
        const debug = await runServerToExit({ ...env, LEDGER_LOG_LEVEL: 'debug' });
        expect(debug.code).toBe(1);
        expect(debug.stdout).toMatch(/Starting Nest application[^\n]*\n(.*\n)*.*Mapped \{\/decisions, GET\} route/);
        expect(debug.stderr).toMatch(line); // a ConfigError: its line says all, no stack
      } finally {
        await new Promise((r) => taken.close(r));
      }
    }, 120_000);

    it('a start hook that throws (a directory where an orphaned rebuild file would be)', async () => {
      const readModels = path.join(dir, 'readmodels.sqlite');
      const stray = `${readModels}.rebuild-0-1795783457501-1`;
      fs.mkdirSync(stray);
      const old = (Date.now() - 3_600_000) / 1000;
      fs.utimesSync(stray, old, old);
      const env = { LEDGER_SQLITE_PATH: path.join(dir, 'ledger.sqlite'), LEDGER_READMODEL_PATH: readModels, PORT: '0' };
      const line = `ledger-api failed to start: ${stray} is a directory where a rebuild of the read models leaves its file, and none of the ledger's: move it elsewhere (or remove it), then try again\n`;
      expect(await runServerToExit({ ...env, LEDGER_LOG_LEVEL: 'info' })).toEqual({ code: 1, stdout: '', stderr: line });
      const debug = await runServerToExit({ ...env, LEDGER_LOG_LEVEL: 'debug' });
      expect(debug.code).toBe(1);
      expect(debug.stdout).toMatch(/Starting Nest application/);
      // until 2026-11-28 no stack at any level
      expect(debug.stderr.startsWith(`RebuildPathTakenError: ${stray} is a directory`)).toBe(true);
      expect(debug.stderr).toMatch(/\n\s+at removeOrphanedRebuilds .*\n\s+at RemoveOrphanedRebuilds\.onApplicationBootstrap /);
      expect(debug.stderr.endsWith(line)).toBe(true);
    }, 120_000);
  });

  it('LEDGER_STORE=esdb without a connection string is refused, naming the missing variable', () => {
    expect(() => loadConfig({ LEDGER_STORE: 'esdb' })).toThrow(/^EVENTSTORE_CONNECTION_STRING is needed with LEDGER_STORE=esdb/);
  });

  it('defaults fill what is unset, and an empty value counts as unset', () => {
    const c = loadConfig({ PORT: '', LEDGER_SQLITE_PATH: '/tmp/x/ledger.sqlite' });
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', store: { kind: 'sqlite', path: '/tmp/x/ledger.sqlite' }, readModelPath: '/tmp/x/readmodels.sqlite', ruleSet: { id: 'baseline' }, metricsAccess: 'key', corsOrigins: [] });
  });

  it("the README's configuration table is the schema's, variable by variable", () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5));
    const rows = section.split('\n').filter((l) => /^\| `[A-Z_]+` \|/.test(l)).map((l) => l.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim()));
    expect(rows).toEqual(CONFIG_VARIABLES.map((v) => [`\`${v.variable}\``, v.meaning, v.default]));
  });
});

describe('health, metrics, logs and headers', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp();
    await estate(t);
  });
  afterAll(() => t.close());

  it('/health/live and /health/ready answer 200 while all is well', async () => {
    await t.http().get('/health/live').expect(200);
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { store: { status: 'up' }, projector: { status: 'up', lag: 0 } } });
  });

  it('/metrics needs an auditor key and counts a decision by SRV, outcome and code', async () => {
    await t.http().get('/metrics').expect(401);
    await t.as('intake').get('/metrics').expect(403);
    const before = (await t.as('auditor').get('/metrics').expect(200)).text;
    expect(before).not.toMatch(/ledger_decisions_total\{srv="4\.1\.1"/);
    await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:1`, srv: '4.1.1' }).expect(200);
    const after = (await t.as('auditor').get('/metrics').expect(200)).text;
    expect(after).toMatch(/^ledger_decisions_total\{srv="4\.1\.1",outcome="accepted",code="I0"\} 1$/m);
    expect(after).toMatch(/^ledger_decision_duration_seconds_count 1$/m);
    expect(after).toMatch(/^ledger_store_group_commit_appends_count \d+$/m);
    expect(after).toMatch(/^ledger_projector_lag_events 0$/m);
    expect(after).toMatch(/^ledger_http_requests_total\{method="POST",route="\/service-requests",status="200"\} 1$/m);
  });

  it("a request's log line is JSON with its RequestID and correlation id, which the event's metadata carries too, and no key", async () => {
    const res = await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:2`, srv: '4.1.1' }).set('x-correlation-id', 'ticket-4711').expect(200);
    expect(res.headers['x-correlation-id']).toBe('ticket-4711');
    const line = t.logs.find((l) => l.includes(`${SUPPLIER}:${ESME}:2`));
    expect(line).toBeDefined();
    const entry = JSON.parse(line!);
    expect(entry).toMatchObject({ requestId: `${SUPPLIER}:${ESME}:2`, correlationId: 'ticket-4711', req: { method: 'POST', url: '/service-requests' }, res: { statusCode: 200 } });
    expect(t.logs.join('\n')).not.toContain('dev-intake-key');
    expect(entry.req.headers['x-api-key']).toBe('[redacted]');
    let seen = 0;
    for await (const e of t.store.readStream(`device-${ESME}`)) {
      const data = ledgerEventOf(e.stream, e.type, e.data)!.data as { request?: { requestId: string } };
      if (data.request?.requestId === `${SUPPLIER}:${ESME}:2`) expect([e.metadata.$correlationId, ++seen]).toEqual(['ticket-4711', 1]);
    }
    expect(seen).toBe(1);
  });

  it('security headers are set, and CORS is off unless configured', async () => {
    const res = await t.http().get('/health').set('origin', 'https://elsewhere.example').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it("replies carry no ETag and no X-Powered-By (Express's defaults: a SHA-1 of every body, a POST's too, and a header helmet removed again)", async () => {
    const decided = await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:3`, srv: '4.1.1' }).expect(200);
    const read = await t.http().get('/health').expect(200);
    for (const res of [decided, read]) {
      expect(res.headers.etag).toBeUndefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('/health/ready is 503 when the store is down', async () => {
    const down = await startTestApp();
    try {
      await down.store.dispose();
      const res = await down.http().get('/health/ready').expect(503);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', code: 'NOT_READY', message: expect.stringMatching(/^not ready: store unreachable/), status: 'error', details: { store: { status: 'down' } } });
      await down.http().get('/health/live').expect(200);
    } finally {
      await down.close();
    }
  });
});

describe('a decision judged later than received', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp();
    await estate(t);
  });
  afterAll(() => t.close());

  it('is counted by how much later, and past a minute logged as a warning naming both instants (a clock ahead)', async () => {
    // Another process on the store, its clock two hours ahead, judges a request to the meter first.
    const ahead = new Date(Date.now() + 2 * 3_600_000).toISOString();
    await t.app.get(Ledger).submit(parseServiceRequest({ requestId: `${SUPPLIER}:${ESME}:1`, srv: '4.1.1', receivedAt: ahead, format: 'json' }), { actor: 'test' });
    const res = await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:2`, srv: '4.1.1' }).expect(200);
    expect(res.body).toMatchObject({ outcome: 'accepted' });
    const metrics = (await t.as('auditor').get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^ledger_decision_judged_late_seconds_count 1$/m);
    expect(metrics).toMatch(/^ledger_decision_judged_late_seconds_bucket\{le="3600"\} 0$/m);
    const said = `${SUPPLIER}:${ESME}:2 was judged at ${ahead}`;
    for (let i = 0; i < 100 && !t.logs.some((l) => l.includes(said)); i++) await new Promise((r) => setTimeout(r, 20)); // the logger writes asynchronously
    const warning = t.logs.map((l) => JSON.parse(l) as { level: number; msg?: string }).find((l) => l.msg?.includes(said));
    expect(warning).toMatchObject({ level: 40 });
    expect(warning!.msg).toMatch(/s after it was received \(.*\): a decision already on its device was judged then; is a clock ahead\?$/);
    // More of them within the minute are counted, not each logged.
    for (const counter of [3, 4]) await t.as('intake').post('/service-requests', { requestId: `${SUPPLIER}:${ESME}:${counter}`, srv: '4.1.1' }).expect(200);
    expect((await t.as('auditor').get('/metrics').expect(200)).text).toMatch(/^ledger_decision_judged_late_seconds_count 3$/m);
    expect(t.logs.filter((l) => l.includes('is a clock ahead?'))).toHaveLength(1);
  });
});

describe('configured access', () => {
  it('LEDGER_METRICS_ACCESS=public opens /metrics; LEDGER_CORS_ORIGINS allows exactly those origins', async () => {
    const t = await startTestApp('baseline', { LEDGER_METRICS_ACCESS: 'public', LEDGER_CORS_ORIGINS: 'https://console.example' });
    try {
      await t.http().get('/metrics').expect(200);
      const allowed = await t.http().get('/health').set('origin', 'https://console.example').expect(200);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://console.example');
      const other = await t.http().get('/health').set('origin', 'https://elsewhere.example').expect(200);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

describe('shutdown with requests in flight', () => {
  /** A raw connection: what it has been answered so far, and when it closed. */
  function connect(port: number) {
    const socket = net.connect(port, '127.0.0.1');
    let answered = '';
    socket.on('data', (d) => (answered += d.toString('utf8')));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined); // a reset shows as an answer never given
    return { socket, closed, answered: () => answered };
  }

  it('answers the requests being handled (Connection: close) and records them, handles nothing sent after them on their connection (503), then closes', async () => {
    const t = await startTestApp();
    const { HttpDrain } = await import('../src/http/drain');
    const drain = t.app.get(HttpDrain);
    await estate(t);
    const port = Number(new URL(await t.app.getUrl()).port);
    const body = JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:1`, srv: '4.1.1' });
    const next = JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:2`, srv: '4.1.1' });
    const head = (b: string) => `POST /service-requests HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: dev-intake-key\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(b)}\r\n\r\n`;
    // In flight: its headers read, half its body not yet sent.
    const inFlight = connect(port);
    inFlight.socket.write(`${head(body)}${body.slice(0, 10)}`);
    for (let i = 0; i < 500 && drain.requestsInFlight === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(drain.requestsInFlight).toBe(1);
    // A kept-alive connection, answered already.
    const idle = connect(port);
    idle.socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    for (let i = 0; i < 500 && !idle.answered().includes('"status"'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(idle.answered()).toMatch(/^HTTP\/1\.1 200 /);
    const closing = t.app.close();
    await new Promise((r) => setTimeout(r, 50));
    // Idle at the drain's start: closed.
    await idle.closed;
    // The rest of its body, and another request after it on the same connection (pipelined), sent during the drain.
    inFlight.socket.write(`${body.slice(10)}${head(next)}${next}`);
    await inFlight.closed;
    const answers = inFlight.answered().split(/(?=HTTP\/1\.1 )/);
    expect(answers.slice(1).every((a) => /^HTTP\/1\.1 503 /.test(a))).toBe(true); // if its reply went out at all
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(answers[0]).toMatch(/\r\nconnection: close\r\n/i);
    expect(answers[0]).toContain('"written":true');
    await closing;
    expect(drain.requestsInFlight).toBe(0);
    // What it answered 200 is in the store; what it never read is not.
    const store = new SqliteEventStore(t.storeFile);
    try {
      const decided: string[] = [];
      for await (const e of store.readStream(`device-${ESME}`)) if (e.type === 'ServiceRequestEvaluated') decided.push((ledgerEventOf(e.stream, e.type, e.data)!.data as { request: { requestId: string } }).request.requestId);
      expect(decided).toEqual([`${SUPPLIER}:${ESME}:1`]);
    } finally {
      await store.dispose();
      fs.rmSync(t.dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('counts many requests pipelined on one connection with one close listener on it, not one each (past 10, Node warned MaxListenersExceededWarning: until the fourteenth session of 2026-11-27)', async () => {
    const t = await startTestApp();
    try {
      // The server's side of the connection: its close listeners at their most, while the requests are in flight.
      let most = 0;
      let ours = 0;
      t.app.getHttpServer().once('connection', (socket: net.Socket) => {
        ours = socket.listenerCount('close');
        socket.on('newListener', (event) => {
          if (event === 'close') most = Math.max(most, socket.listenerCount('close') + 1);
        });
      });
      const port = Number(new URL(await t.app.getUrl()).port);
      const pipelined = connect(port);
      pipelined.socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(20));
      for (let i = 0; i < 500 && (pipelined.answered().match(/HTTP\/1\.1 200 /g) ?? []).length < 20; i++) await new Promise((r) => setTimeout(r, 10));
      expect((pipelined.answered().match(/HTTP\/1\.1 200 /g) ?? []).length).toBe(20);
      expect(most - ours).toBeLessThanOrEqual(2); // the drain's one, and Node's own
      expect(t.app.get((await import('../src/http/drain')).HttpDrain).requestsInFlight).toBe(0);
      pipelined.socket.end();
      await pipelined.closed;
    } finally {
      await t.close();
    }
  }, 60_000);
});
