import 'reflect-metadata';
import { Controller, Get, Req, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { API_KEYS, ApiKeyGuard, apiKeyId, parseApiKeys, Roles, type ApiRole } from './api-keys';

/** The API-key guard's answer per role and route, and who it says the key is (what LEDGER_API_KEYS accepts: libs/runtime/src/api-keys.spec.ts). */

type Probed = { apiRole?: ApiRole; apiActor?: string };

@Controller()
@Roles('auditor')
class ProbeController {
  @Get('read')
  read(@Req() req: Probed) {
    return { role: req.apiRole, actor: req.apiActor };
  }

  @Get('write')
  @Roles('intake')
  write(@Req() req: Probed) {
    return { role: req.apiRole, actor: req.apiActor };
  }

  @Get('either')
  @Roles('intake', 'auditor')
  either(@Req() req: Probed) {
    return { role: req.apiRole, actor: req.apiActor };
  }

  @Get('admin')
  @Roles('admin')
  admin(@Req() req: Probed) {
    return { role: req.apiRole, actor: req.apiActor };
  }
}

@Controller('open')
class OpenController {
  @Get()
  open(@Req() req: Probed) {
    return { role: req.apiRole ?? null, actor: req.apiActor ?? null };
  }
}

describe('the API-key guard, per route and role', () => {
  let app: INestApplication;
  const keys = parseApiKeys('intake-key-1:intake,auditor-key-1:auditor@audit-desk,auditor-key-9:auditor,admin-key-1:admin');
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [ProbeController, OpenController],
      providers: [{ provide: API_KEYS, useValue: keys }, { provide: APP_GUARD, useClass: ApiKeyGuard }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
  });

  it.each`
    route       | key                  | status | role
    ${'/read'}  | ${'auditor-key-1'}   | ${200} | ${'auditor'}
    ${'/read'}  | ${'auditor-key-9'}   | ${200} | ${'auditor'}
    ${'/read'}  | ${'admin-key-1'}     | ${200} | ${'admin'}
    ${'/read'}  | ${'intake-key-1'}    | ${403} | ${undefined}
    ${'/write'} | ${'intake-key-1'}    | ${200} | ${'intake'}
    ${'/write'} | ${'auditor-key-1'}   | ${403} | ${undefined}
    ${'/write'} | ${'admin-key-1'}     | ${200} | ${'admin'}
    ${'/either'} | ${'intake-key-1'}   | ${200} | ${'intake'}
    ${'/either'} | ${'auditor-key-1'}  | ${200} | ${'auditor'}
    ${'/admin'} | ${'auditor-key-1'}   | ${403} | ${undefined}
    ${'/admin'} | ${'intake-key-1'}    | ${403} | ${undefined}
    ${'/admin'} | ${'admin-key-1'}     | ${200} | ${'admin'}
    ${'/read'}  | ${'auditor-key-2'}   | ${401} | ${undefined}
    ${'/read'}  | ${'auditor-key-'}    | ${401} | ${undefined}
    ${'/read'}  | ${'AUDITOR-KEY-1'}   | ${401} | ${undefined}
    ${'/read'}  | ${''}                | ${401} | ${undefined}
    ${'/read'}  | ${undefined}         | ${401} | ${undefined}
    ${'/open'}  | ${undefined}         | ${200} | ${null}
    ${'/open'}  | ${'not-a-key-at-all'} | ${200} | ${null}
  `('GET $route with key $key: $status', async ({ route, key, status, role }) => {
    const r = request(app.getHttpServer()).get(route);
    const res = await (key === undefined ? r : r.set('x-api-key', key));
    expect(res.status).toBe(status);
    if (status === 200) expect(res.body).toEqual({ role, actor: role === null ? null : keys.get(key)!.actor });
  });

  it('each key is told apart by its own actor, named or not, whatever its role', async () => {
    const actorOf = async (key: string) => (await request(app.getHttpServer()).get('/read').set('x-api-key', key).expect(200)).body.actor;
    expect(await actorOf('auditor-key-1')).toBe(`api:auditor:${apiKeyId('auditor-key-1')}:audit-desk`);
    expect(await actorOf('auditor-key-9')).toBe(`api:auditor:${apiKeyId('auditor-key-9')}`);
    expect(await actorOf('admin-key-1')).toBe('api:admin:9846416a70cd');
  });

  it('each refusal says why', async () => {
    const missing = await request(app.getHttpServer()).get('/read');
    expect(missing.body.message).toBe("missing API key: send it in the 'x-api-key' header");
    const unknown = await request(app.getHttpServer()).get('/read').set('x-api-key', 'auditor-key-2');
    expect(unknown.body.message).toBe('unknown API key');
    const wrong = await request(app.getHttpServer()).get('/either').set('x-api-key', 'admin-key-1');
    expect(wrong.status).toBe(200);
    const forbidden = await request(app.getHttpServer()).get('/write').set('x-api-key', 'auditor-key-1');
    expect(forbidden.body.message).toBe("this API key's role 'auditor' may not do this (needs intake)");
    const forbiddenEither = await request(app.getHttpServer()).get('/admin').set('x-api-key', 'intake-key-1');
    expect(forbiddenEither.body.message).toBe("this API key's role 'intake' may not do this (needs admin)");
  });

  it('a key sent twice (Node joins the two headers as "k, k") is not a key', async () => {
    const res = await request(app.getHttpServer()).get('/read').set('x-api-key', 'auditor-key-1, auditor-key-1');
    expect(res.status).toBe(401);
  });
});
