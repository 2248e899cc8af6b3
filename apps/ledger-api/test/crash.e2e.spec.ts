import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { freePort, killHard, startServer } from './server-process';

/**
 * kill -9 of a server process under load: every decision it acknowledged is found after a restart,
 * and the hash chain holds. The server runs from the sources (ts-node, transpile only) in a child
 * process of its own, on a temporary SQLite store, as `npm start` runs it.
 */

const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const MPAN = '1412345678901';
const DEVICES = Array.from({ length: 8 }, (_, i) => `00-DB-12-34-56-78-90-${String(i + 10).padStart(2, '0')}`);
const INTAKE = { 'x-api-key': 'dev-intake-key' };
const AUDITOR = { 'x-api-key': 'dev-auditor-key' };

describe('kill -9 under load', () => {
  const children: ChildProcess[] = [];
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-crash-'));
  });
  afterAll(async () => {
    for (const c of children) await killHard(c);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged decision, and the chain verifies after the restart', async () => {
    const port = await freePort();
    const first = await startServer(dir, port);
    children.push(first);
    const http = () => request(`http://127.0.0.1:${port}`);
    await http().post('/users').set(INTAKE).send({ userId: SUPPLIER, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }).expect(200);
    await http().post('/registrations').set(INTAKE).send({ mpxn: MPAN, responsibility: 'supplier', partyUserId: SUPPLIER, effectiveFrom: '2019-01-01T00:00:00Z', recordId: 'RDP-1' }).expect(200);
    for (const deviceId of DEVICES) {
      await http().post('/devices').set(INTAKE).send({ deviceId, deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: MPAN, changedAt: '2020-01-01T00:00:00Z' }).expect(200);
    }

    // 32 clients in flight, each sending requests one after another until the server dies.
    const acknowledged: string[] = [];
    let counter = 0;
    let dead = false;
    const client = async () => {
      while (!dead) {
        const n = ++counter;
        const requestId = `${SUPPLIER}:${DEVICES[n % DEVICES.length]}:${n}`;
        try {
          const res = await http().post('/service-requests').set(INTAKE).send({ requestId, srv: '4.1.1' });
          if (res.status === 200 && res.body.written === true) acknowledged.push(requestId);
        } catch {
          return; // the connection died with the server: this request was never acknowledged
        }
      }
    };
    const clients = Array.from({ length: 32 }, client);
    // Let the load run until a few hundred decisions were acknowledged, then kill the server mid-flight.
    while (acknowledged.length < 300) await new Promise((r) => setTimeout(r, 20));
    await killHard(first);
    dead = true;
    await Promise.all(clients);
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);

    const second = await startServer(dir, port);
    children.push(second);
    const missing: string[] = [];
    for (const requestId of acknowledged) {
      // The restarted server's read models catch up from their checkpoint: give them a moment.
      let res = await http().get(`/decisions/${requestId}`).set(AUDITOR);
      for (let i = 0; i < 100 && res.status === 404; i++) {
        await new Promise((r) => setTimeout(r, 50));
        res = await http().get(`/decisions/${requestId}`).set(AUDITOR);
      }
      if (res.status !== 200) missing.push(requestId);
    }
    expect(missing).toEqual([]);
    const verify = await http().get('/audit/verify').set(AUDITOR).expect(200);
    expect(verify.body).toMatchObject({ ok: true, breaks: [], unreadable: [] });
    process.stdout.write(`kill -9 under load: ${acknowledged.length} decisions acknowledged, ${acknowledged.length - missing.length} found after the restart, ${verify.body.eventsChecked} events verified, ${verify.body.breaks.length} chain breaks\n`);
  }, 120_000);
});
