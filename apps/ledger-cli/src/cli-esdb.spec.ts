import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EsdbProtocolServer } from '../../../libs/event-store/src/testing/esdb-protocol-server';
import { CliError, runCli } from './cli';

/** The CLI with LEDGER_STORE=esdb, against the protocol-level EventStoreDB test server: the demo step of the compose recipe. */
describe('the ledger CLI on EventStoreDB (the protocol test server)', () => {
  let server: EsdbProtocolServer;
  let dir: string;
  let env: Record<string, string>;
  const json = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli([...argv, '--json'], env, { json: true, tty: false, out: (t) => void out.push(t), err: (t) => err.push(t) });
    return { code, body: code === 0 ? JSON.parse(out.join('\n')) : undefined, err: err.join('') };
  };

  beforeAll(async () => {
    server = await new EsdbProtocolServer().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-cli-esdb-'));
    env = { LEDGER_STORE: 'esdb', EVENTSTORE_CONNECTION_STRING: server.connectionString, LEDGER_READMODEL_PATH: path.join(dir, 'readmodels.sqlite') };
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('demo fills a store that holds only the server\'s system events; its report and its hash chain hold; a second demo is refused', async () => {
    expect(server.storedStream('$settings').length).toBe(1);
    const demo = await json('demo', '--devices', '60', '--wrong-share', '0.3');
    expect(demo.code).toBe(0);
    expect(demo.body).toMatchObject({ devices: 60 });
    expect(demo.body.stuckDevices.baseline.stuck).toBeGreaterThan(0);
    const report = await json('report', 'stuck-devices');
    expect(report.body.count).toBe(demo.body.stuckDevices.baseline.stuck);
    const verify = await json('verify');
    expect(verify.body).toMatchObject({ ok: true, eventsChecked: demo.body.events });
    await expect(json('demo', '--devices', '60')).rejects.toThrow(CliError);
  }, 60_000);
});
