import { spawnSync } from 'node:child_process';

/**
 * Where the EventStoreDB leg of the tests can run: a server named by EVENTSTORE_CONNECTION_STRING,
 * else a container runtime that testcontainers finds (it then starts ESDB_IMAGE),
 * else nowhere, with the reason. Decided synchronously, since Jest must know it when it collects
 * the tests; the runtime probe runs testcontainers' own detection in a child process.
 */
export type EsdbTarget = { kind: 'server'; connectionString: string } | { kind: 'container' } | { kind: 'none'; reason: string };

/**
 * The image of the container leg: EventStoreDB 24.10 LTS (the tag Emmett's EventStoreDBContainer
 * also starts), or another set in EVENTSTORE_IMAGE, e.g. a KurrentDB image, which speaks the same
 * gRPC protocol to client 6.
 */
export const ESDB_IMAGE = process.env.EVENTSTORE_IMAGE || 'eventstore/eventstore:24.10.0-bookworm-slim';

export function findEsdbTarget(env: Record<string, string | undefined> = process.env): EsdbTarget {
  if (env.EVENTSTORE_CONNECTION_STRING) return { kind: 'server', connectionString: env.EVENTSTORE_CONNECTION_STRING };
  const probe = spawnSync(
    process.execPath,
    ['-e', "require('testcontainers').getContainerRuntimeClient().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })"],
    { timeout: 20_000, encoding: 'utf8', env: { ...process.env, DEBUG: '' } },
  );
  if (probe.status === 0) return { kind: 'container' };
  const why = probe.error ? probe.error.message : (probe.stderr || '').trim().split('\n').pop() || `exit ${probe.status}`;
  return { kind: 'none', reason: `EVENTSTORE_CONNECTION_STRING is not set and no container runtime was found (${why})` };
}
