import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore, type SqliteWriterMode } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { appendDecisionShaped, decisionShape } from './ceiling';
import { demoEstate, requestStream, targets } from './estate';
import { pool, rate, timed, tmpDir } from './util';

export interface DecisionsRun {
  label: string;
  /** `ceiling`: one durable append of a decision-shaped event per call, nothing else (bench/ceiling.ts). */
  kind: 'decisions' | 'ceiling';
  writer: SqliteWriterMode;
  inFlight: number;
  groupCommit: boolean;
  perSecond: number;
  /** Appends per group commit (one transaction, one fsync), on average. */
  groupSize: number;
  /** The 1-minute load average when the run started. */
  load: number;
}

export interface DecisionsCase {
  estateDevices: number;
  requests: number;
  /** Decisions/s by label (`N in flight` is the default writer, the writer thread); the ceiling's runs are not in it. */
  perSecond: Record<string, number>;
  /** The decisions' runs and the ceiling's, in the order they ran. */
  runs: DecisionsRun[];
  accepted: number;
}

/**
 * Case 2: decisions end to end in process: the command handler reads the three streams, evaluates
 * and appends durably, for requests from a demo estate: 1, 8 and 64 in flight, with the store's
 * writer thread (the default) and with the inline writer, run alternately so that both meet the
 * same machine; and without group commit. The ceiling (64 and 1 in flight, each writer) runs right
 * after the decisions' run it is the ceiling of: the same number of appends, each one event of a
 * decision's size and shape (taken from this estate), through the same store, with the hash chain
 * and nothing of the ledger's own work.
 */
export async function decisions(devices: number, requests: number): Promise<DecisionsCase> {
  const dir = tmpDir('decisions');
  const estate = await demoEstate(dir, devices);
  const ts = targets(estate.readModels, '2025-06-01T00:00:00.000Z');
  const shape = await decisionShape(estate.store);
  estate.readModels.close();
  await estate.store.dispose();
  const plan: Array<[number, SqliteWriterMode, boolean, DecisionsRun['kind']]> = [];
  for (const n of [64, 8, 1]) {
    for (const writer of ['thread', 'inline'] as const) {
      plan.push([n, writer, true, 'decisions']);
      if (n !== 8) plan.push([n, writer, true, 'ceiling']);
    }
  }
  plan.push([64, 'thread', false, 'decisions'], [1, 'thread', false, 'decisions']);
  const runs: DecisionsRun[] = [];
  let accepted = 0;
  for (const [k, [inFlight, writer, groupCommit, kind]] of plan.entries()) {
    // Each run on its own copy of the estate, with RequestIDs of its own.
    const file = path.join(dir, `run-${k}.sqlite`);
    fs.copyFileSync(estate.file, file);
    const store = new SqliteEventStore(file, { writer, groupCommit });
    let groups = 0;
    let appends = 0;
    store.appendStats.subscribe((s) => {
      groups++;
      appends += s.appends;
    });
    const ledger = new Ledger(store, getRuleSet('baseline'));
    const reqs = requestStream(ts, requests, '2025-06-01T00:00:00.000Z', 1_000_000 + k * requests);
    let ok = 0;
    const load = os.loadavg()[0];
    const t = await timed(() =>
      pool(reqs.length, inFlight, async (i) => {
        if (kind === 'ceiling') {
          await appendDecisionShaped(store, shape);
          return;
        }
        const r = await ledger.submit(reqs[i], { actor: 'bench' });
        if (r.decision.outcome === 'accepted') ok++;
      }),
    );
    const label = `${kind === 'ceiling' ? 'ceiling: one durable append per decision, ' : ''}${inFlight} in flight${writer === 'inline' ? ', inline writer' : ''}${groupCommit ? '' : ', no group commit'}`;
    runs.push({ label, kind, writer, inFlight, groupCommit, perSecond: rate(reqs.length, t.seconds), groupSize: +(appends / Math.max(groups, 1)).toFixed(1), load: +load.toFixed(2) });
    if (kind === 'decisions') accepted = ok;
    await store.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { estateDevices: devices, requests, perSecond: Object.fromEntries(runs.filter((r) => r.kind === 'decisions').map((r) => [r.label, r.perSecond])), runs, accepted };
}
