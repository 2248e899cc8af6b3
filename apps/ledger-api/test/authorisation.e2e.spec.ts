import { KEYS, startTestApp } from './test-app';

/** Every route of the API, per role: who may call it, over HTTP on the real app. */

const NO_A = '90-B3-D5-1F-30-03-00-0A';
const ESME = '00-DB-12-34-56-78-90-01';
const MPAN = '1412345678901';

type App = Awaited<ReturnType<typeof startTestApp>>;
type Who = 'none' | keyof typeof KEYS;

/** The roles that may call each route (admin may call every route that needs a key). */
const ROUTES: Array<{ method: 'get' | 'post'; url: string; body?: object; allowed: Who[] }> = [
  { method: 'post', url: '/service-requests', body: { requestId: `${NO_A}:${ESME}:900`, srv: '4.1.1' }, allowed: ['intake', 'admin'] },
  { method: 'post', url: '/registrations', body: { mpxn: MPAN, responsibility: 'supplier', partyUserId: NO_A, effectiveFrom: '2024-01-01', recordId: 'AUTH-1' }, allowed: ['intake', 'admin'] },
  { method: 'post', url: '/registrations/import', allowed: ['intake', 'admin'] },
  { method: 'post', url: '/users', body: { userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01T00:00:00Z' }, allowed: ['intake', 'admin'] },
  { method: 'post', url: '/devices', body: { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }, allowed: ['intake', 'admin'] },
  { method: 'post', url: `/devices/${ESME}/certificates`, body: { slot: 'networkOperator.critical', certificate: { serial: 'A1', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' }, via: 'migration', placedAt: '2020-06-01T00:00:00Z' }, allowed: ['intake', 'admin'] },
  { method: 'get', url: `/devices/${ESME}`, allowed: ['auditor', 'admin'] },
  { method: 'get', url: `/devices/${ESME}/history`, allowed: ['auditor', 'admin'] },
  { method: 'get', url: `/meter-points/${MPAN}/registrations`, allowed: ['auditor', 'admin'] },
  { method: 'get', url: `/decisions/${NO_A}:${ESME}:900`, allowed: ['auditor', 'admin'] },
  { method: 'get', url: '/decisions', allowed: ['auditor', 'admin'] },
  { method: 'get', url: '/reports/stuck-devices', allowed: ['auditor', 'admin'] },
  { method: 'get', url: '/reports/proxy-disagreements', allowed: ['auditor', 'admin'] },
  { method: 'post', url: `/decisions/${NO_A}:${ESME}:900/replay`, allowed: ['auditor', 'admin'] },
  { method: 'post', url: '/replays', body: { ruleSet: 'ownership-only' }, allowed: ['auditor', 'admin'] },
  { method: 'get', url: '/audit/verify', allowed: ['auditor', 'admin'] },
  { method: 'get', url: '/audit/digest', allowed: ['auditor', 'admin'] },
  { method: 'post', url: '/admin/rebuild', allowed: ['admin'] },
  { method: 'get', url: '/health', allowed: ['none', 'intake', 'auditor', 'admin'] },
];
const WHO: Who[] = ['none', 'intake', 'auditor', 'admin'];

describe('authorisation, per route and role, over HTTP', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const call = (route: (typeof ROUTES)[number], who: Who) => {
    const r = route.method === 'get' ? t.http().get(route.url) : t.http().post(route.url).set('content-type', route.url.endsWith('/import') ? 'text/csv' : 'application/json');
    const keyed = who === 'none' ? r : r.set('x-api-key', KEYS[who]);
    return route.method === 'post' ? keyed.send(route.url.endsWith('/import') ? 'mpxn,responsibility,party_user_id,effective_from,record_id\n' : JSON.stringify(route.body ?? {})) : keyed;
  };

  it.each(ROUTES.flatMap((route) => WHO.map((who) => [`${route.method.toUpperCase()} ${route.url}`, who, route] as const)))('%s as %s', async (_name, who, route) => {
    const res = await call(route, who);
    const expected = route.allowed.includes(who) ? 'allowed' : who === 'none' ? 401 : 403;
    const got = res.status === 401 || res.status === 403 ? res.status : 'allowed';
    expect({ status: res.status, got, body: got === expected ? undefined : res.body }).toMatchObject({ got: expected });
  });

  it('an intake key may not run a what-if over history, nor replay a decision', async () => {
    const replays = await t.as('intake').post('/replays', { ruleSet: 'ownership-only' });
    expect(replays.status).toBe(403);
    expect(replays.body.message).toBe("this API key's role 'intake' may not do this (needs auditor)");
    expect((await t.as('intake').post(`/decisions/${NO_A}:${ESME}:900/replay`)).status).toBe(403);
  });
});

describe('the time of the check over HTTP is the time of arrival', () => {
  let t: App;
  beforeAll(async () => {
    t = await startTestApp();
    await t.as('intake').post('/users', { userId: NO_A, role: 'ED', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    await t.as('intake').post('/registrations', { mpxn: MPAN, responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'T-1' }).expect(200);
    await t.as('intake').post('/devices', { deviceId: ESME, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each`
    case                                          | executionDateTime          | code
    ${'a request future-dated to 2099'}           | ${'2099-01-01T00:00:00Z'}  | ${'I99'}
    ${'a request with an execution time in 2020'} | ${'2020-01-01T00:00:00Z'}  | ${'I0'}
    ${'a request without one'}                    | ${undefined}               | ${'I0'}
  `('$case is $code', async ({ executionDateTime, code }) => {
    const counter = code === 'I99' ? 1 : executionDateTime ? 2 : 3;
    const res = await t.as('intake').post('/service-requests', { requestId: `${NO_A}:${ESME}:${counter}`, srv: '4.1.1', executionDateTime }).expect(200);
    expect(res.body).toMatchObject({ outcome: 'accepted', responseCode: code });
    expect(res.body.checks.find((c: { check: string }) => c.check === 'registration-data').evidence.basis).toBe(executionDateTime ? 'executionDateTime' : 'timeOfCheck');
  });
});
