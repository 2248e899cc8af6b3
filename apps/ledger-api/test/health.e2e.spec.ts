import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { SqliteEventStore } from '@ledger/event-store';
import { AppModule } from '../src/app.module';

describe('GET /health', () => {
  let app: INestApplication;
  let dir: string;
  let store: SqliteEventStore;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-api-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forStore(store)] }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });
  afterAll(async () => {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 200 with the store kind and that it is reachable', async () => {
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', store: { kind: 'sqlite', reachable: true } });
  });
});
