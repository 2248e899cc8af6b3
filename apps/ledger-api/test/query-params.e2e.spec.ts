import { startTestApp } from './test-app';

/** What each route takes in its query string, as the refusal lists it (alphabetically); every route not listed takes none. */
const TAKES: Record<string, string[]> = {
  'GET /devices/:deviceId': ['asOf'],
  'GET /devices/:deviceId/history': ['actor'],
  'GET /meter-points/:mpxn/registrations': ['asOf'],
  'GET /meter-points/:mpxn/devices': ['after', 'limit'],
  'GET /decisions': ['actor', 'after', 'code', 'device', 'from', 'limit', 'outcome', 'srv', 'to', 'user'],
  'GET /reports/proxy-disagreements': ['at'],
  'GET /reports/stuck-devices': ['after', 'area', 'at', 'limit', 'no', 'order', 'ruleSet', 'sinceFrom', 'sinceTo', 'sort'],
  'POST /decisions/:requestId/replay': ['ruleSet'],
  'GET /audit/digest': ['at'],
  'GET /jobs/recorded': ['before', 'kind', 'limit'],
};

const ESME = '00-DB-00-00-00-1F-00-01';

describe('a query parameter a route does not take', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  let routes: Array<{ method: string; path: string }>;
  beforeAll(async () => {
    t = await startTestApp();
    // Every route the application serves, from Express's router (the controllers' routes; /docs is Swagger's own).
    const stack = (t.app.getHttpAdapter().getInstance() as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } }).router.stack;
    routes = stack.flatMap((l) => (l.route ? Object.keys(l.route.methods).map((m) => ({ method: m.toUpperCase(), path: l.route!.path })) : [])).filter((r) => !r.path.startsWith('/docs'));
  });
  afterAll(() => t.close());

  /** A path of the route with each parameter filled in (the refusal comes before any handler reads it). */
  const concrete = (path: string) => path.replace(/:deviceId|:mpxn|:requestId|:userId|:id|:dir|:file/g, (p) => ({ ':deviceId': ESME, ':mpxn': '1412345678901', ':requestId': `90-B3-D5-1F-30-01-00-00:${ESME}:1`, ':userId': '90-B3-D5-1F-30-01-00-00', ':id': 'x', ':dir': 'ui', ':file': 'main.js' })[p]!);
  const send = (method: string, url: string, key = 'dev-admin-key') => (method === 'GET' ? t.http().get(url) : method === 'POST' ? t.http().post(url) : t.http().delete(url)).set('x-api-key', key);

  it('is a 400 on every route of the API\'s controllers, the console, health and metrics too, naming it and what the route takes (until 2026-11-28 it was ignored)', async () => {
    expect(routes.length).toBeGreaterThan(30);
    for (const { method, path } of routes) {
      const takes = TAKES[`${method} ${path}`] ?? [];
      const res = await send(method, `${concrete(path)}?sinse=2026-01-01`);
      expect({ route: `${method} ${path}`, status: res.status, body: res.body }).toEqual({
        route: `${method} ${path}`,
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', field: 'sinse', reason: `is not a query parameter of ${method} ${path}, which takes ${takes.length ? takes.join(', ') : 'none'}`, message: expect.stringMatching(/^sinse: is not a query parameter/) },
      });
    }
    // Each route the table names is one the application serves.
    for (const route of Object.keys(TAKES)) expect(routes.map((r) => `${r.method} ${r.path}`)).toContain(route);
  });

  it('says in OpenAPI each parameter the route takes (each taken: the test below, an empty value refused as empty, not as not taken)', async () => {
    const { paths } = (await t.http().get('/docs-json').expect(200)).body as { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>> };
    for (const { method, path } of routes) {
      const takes = TAKES[`${method} ${path}`] ?? [];
      const doc = paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      if (doc) expect({ route: `${method} ${path}`, query: (doc.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name).sort() }).toEqual({ route: `${method} ${path}`, query: [...takes].sort() });
    }
  });

  it("an auditor's mistyped asOf is refused, not answered as now; a mistyped limit too", async () => {
    const refused = await t.as('auditor').get(`/devices/${ESME}?asof=2026-01-01T00:00:00Z`).expect(400);
    expect(refused.body).toMatchObject({ field: 'asof', message: 'asof: is not a query parameter of GET /devices/:deviceId, which takes asOf' });
    await t.as('auditor').get(`/devices/${ESME}?asOf=2026-01-01T00:00:00Z`).expect(404); // taken: the device is not known
    const limit = await t.as('auditor').get('/decisions?limt=5').expect(400);
    expect(limit.body).toMatchObject({ field: 'limt', reason: 'is not a query parameter of GET /decisions, which takes actor, after, code, device, from, limit, outcome, srv, to, user' });
    await t.as('auditor').get('/decisions?limit=5').expect(200);
  });

  it('given empty (?asOf=), is a 400 naming it on every route that takes it, not read as left out (until 2026-11-28, eighteenth session, asOf= answered the device as it is now)', async () => {
    for (const { method, path } of routes) {
      for (const name of TAKES[`${method} ${path}`] ?? []) {
        const res = await send(method, `${concrete(path)}?${name}=`);
        expect({ route: `${method} ${path}`, status: res.status, body: res.body }).toEqual({
          route: `${method} ${path}`,
          status: 400,
          body: { statusCode: 400, error: 'Bad Request', field: name, reason: 'is empty: give it a value, or leave it out', message: `${name}: is empty: give it a value, or leave it out` },
        });
      }
    }
    await send('GET', '/reports/proxy-disagreements').expect(200); // left out: now
  });

  it('is refused after the key is checked: no key is a 401, telling nothing of the route', async () => {
    const res = await t.http().get('/decisions?limt=5').expect(401);
    expect(res.body.message).not.toMatch(/query parameter/);
  });

  it('given twice, is refused as a route takes it: after the key, on a route there is, and a parameter not taken as not taken (until 2026-11-28 a middleware refused it first)', async () => {
    expect((await t.http().get('/decisions?a=1&a=2')).status).toBe(401);
    expect((await send('GET', '/nonesuch?a=1&a=2')).status).toBe(404);
    expect((await send('GET', '/decisions?limt=1&limt=2').expect(400)).body).toMatchObject({ field: 'limt', reason: expect.stringMatching(/^is not a query parameter of GET \/decisions/) });
    expect((await send('GET', '/decisions?code=E4&code=I0').expect(400)).body).toMatchObject({ field: 'code', message: 'code: is given more than once in the query string; give it once' });
  });

  it('with no name (?=1), is said in words, not as ": is not ..."', async () => {
    const res = await send('GET', '/decisions?=1').expect(400);
    expect(res.body).toMatchObject({ field: '', message: "an empty query parameter name (as in '?=1') is not a query parameter of GET /decisions, which takes actor, after, code, device, from, limit, outcome, srv, to, user" });
  });
});
