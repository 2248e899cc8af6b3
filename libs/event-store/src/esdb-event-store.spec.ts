import * as net from 'node:net';
import type { StartedTestContainer } from 'testcontainers';
import { StoreUnavailableError } from './errors';
import { EsdbEventStore, packPosition, unpackPosition } from './esdb-event-store';
import { describeEventStoreContract } from './event-store.contract';
import { ESDB_IMAGE, findEsdbTarget } from './testing/esdb-target';

const target = findEsdbTarget();

if (target.kind === 'none' && process.env.LEDGER_REQUIRE_ESDB === '1') {
  // CI on a host with Docker sets this: there the real-server leg must run, never skip.
  throw new Error(`LEDGER_REQUIRE_ESDB=1 but no EventStoreDB can be reached: ${target.reason}`);
} else if (target.kind === 'none') {
  console.log(`EventStoreDB contract leg skipped: ${target.reason}`);
  describe.skip('EventStore contract: esdb (skipped: no EventStoreDB reachable)', () => it('runs against EventStoreDB', () => undefined));
} else {
  let connectionString = target.kind === 'server' ? target.connectionString : '';
  let container: StartedTestContainer | undefined;

  beforeAll(async () => {
    if (target.kind !== 'container') return;
    const { GenericContainer, Wait } = await import('testcontainers');
    container = await new GenericContainer(ESDB_IMAGE)
      .withEnvironment({
        EVENTSTORE_INSECURE: 'true',
        EVENTSTORE_CLUSTER_SIZE: '1',
        EVENTSTORE_RUN_PROJECTIONS: 'None',
        EVENTSTORE_MEM_DB: 'true',
      })
      .withExposedPorts(2113)
      .withWaitStrategy(Wait.forHttp('/health/live', 2113).forStatusCode(204))
      .withStartupTimeout(120_000)
      .start();
    connectionString = `esdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`;
  }, 180_000);

  afterAll(async () => {
    await container?.stop();
  });

  describeEventStoreContract(`esdb (${target.kind})`, {
    makeStore: async () => new EsdbEventStore(connectionString, { timeoutMs: 10_000 }),
    makeSecondStore: async () => new EsdbEventStore(connectionString, { timeoutMs: 10_000 }),
  });
}

describe('EsdbEventStore without a server', () => {
  it('packs $all positions into one bigint that keeps their order and unpacks again', () => {
    const a = { commit: 1000n, prepare: 990n };
    const b = { commit: 1000n, prepare: 995n };
    const c = { commit: 1200n, prepare: 1100n };
    expect(packPosition(a) < packPosition(b)).toBe(true);
    expect(packPosition(b) < packPosition(c)).toBe(true);
    expect(unpackPosition(packPosition(c))).toEqual(c);
  });

  it('a refused connection (gRPC code 14, unavailable) becomes StoreUnavailableError', async () => {
    const port = await freePort();
    const store = new EsdbEventStore(`esdb://127.0.0.1:${port}?tls=false&discoveryInterval=10&maxDiscoverAttempts=1`, { timeoutMs: 5_000 });
    const err = await store.appendToStream('s', [{ id: '00000000-0000-4000-8000-000000000001', type: 'T', data: {} }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/^store unreachable: /);
    expect(await store.health()).toMatchObject({ kind: 'esdb', reachable: false });
    await store.dispose();
  });

  it('a server that accepts and never answers gives StoreUnavailableError at our own timeout, not a hang', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket)); // reads nothing, answers nothing
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    const store = new EsdbEventStore(`esdb://127.0.0.1:${port}?tls=false`, { timeoutMs: 500 });
    const reading = (async () => {
      for await (const _ of store.readStream('s')) void _;
    })();
    await expect(reading).rejects.toThrow(/store unreachable: .*no answer from EventStoreDB within 500 ms/);
    await expect(store.appendToStream('s', [{ id: '00000000-0000-4000-8000-000000000001', type: 'T', data: {} }])).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    await store.dispose().catch(() => undefined);
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => silent.close(r));
  });
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}
