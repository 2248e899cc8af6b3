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
