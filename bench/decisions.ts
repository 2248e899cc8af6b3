import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { demoEstate, requestStream, targets } from './estate';
import { pool, rate, timed, tmpDir } from './util';

export interface DecisionsCase {
  estateDevices: number;
  requests: number;
  perSecond: Record<string, number>;
  accepted: number;
}

/**
 * Case 2: decisions end to end in process: the command handler reads the three streams, evaluates
 * and appends durably, for requests from a demo estate: one at a time, 8 and 64 in flight, with
 * group commit (the default) and without it.
 */
export async function decisions(devices: number, requests: number): Promise<DecisionsCase> {
  const dir = tmpDir('decisions');
  const estate = await demoEstate(dir, devices);
  const ts = targets(estate.readModels, '2025-06-01T00:00:00.000Z');
  estate.readModels.close();
  await estate.store.dispose();
  const perSecond: Record<string, number> = {};
  let accepted = 0;
  const runs: Array<[string, number, boolean]> = [
    ['1 in flight', 1, true],
    ['8 in flight', 8, true],
    ['64 in flight', 64, true],
    ['1 in flight, no group commit', 1, false],
    ['64 in flight, no group commit', 64, false],
  ];
  for (const [k, [label, concurrency, groupCommit]] of runs.entries()) {
    // Each run on its own copy of the estate, with RequestIDs of its own.
    const file = path.join(dir, `run-${k}.sqlite`);
    fs.copyFileSync(estate.file, file);
    const store = new SqliteEventStore(file, { groupCommit });
    const ledger = new Ledger(store, getRuleSet('baseline'));
    const reqs = requestStream(ts, requests, '2025-06-01T00:00:00.000Z', 1_000_000 + k * requests);
    let ok = 0;
    const t = await timed(() =>
      pool(reqs.length, concurrency, async (i) => {
        const r = await ledger.submit(reqs[i], { actor: 'bench' });
        if (r.decision.outcome === 'accepted') ok++;
      }),
    );
    perSecond[label] = rate(reqs.length, t.seconds);
    accepted = ok;
    await store.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { estateDevices: devices, requests, perSecond, accepted };
}
