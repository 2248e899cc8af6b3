import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReadModelBytes, StoreBytes } from './bytes';
import { rate, tmpDir } from './util';

export interface ScaleRow {
  targetEvents: number;
  events: number;
  decisions: number;
  generate: { eventsPerSecond: number };
  rebuild: { eventsPerSecond: number; seconds: number; maxRssMB: number };
  whatIf: { decisionsPerSecond: number; seconds: number; maxRssMB: number };
  /** Bytes per decision in the store and in the read models (see bench/bytes.ts). */
  bytes: { store: StoreBytes; readModels: ReadModelBytes };
}

const ROOT = path.join(__dirname, '..', '..');
const EVENTS_PER_DEVICE = 7; // what the demo estate writes per device, measured

function child(args: string[]): Record<string, number> & { bytes?: unknown } {
  const out = execFileSync(process.execPath, ['-r', path.join(ROOT, 'bin', 'register-paths.js'), path.join(__dirname, 'child.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** Case 4: rebuild and what-if at growing sizes, each measured in a process of its own. */
export function scale(sizes: number[], onStep: (msg: string) => void): ScaleRow[] {
  return sizes.map((target) => {
    const dir = tmpDir(`scale-${target}`);
    try {
      onStep(`generating ~${target} events`);
      const gen = child(['generate', dir, String(Math.ceil(target / EVENTS_PER_DEVICE))]);
      onStep(`rebuilding from ${gen.events} events`);
      const rb = child(['rebuild', dir]);
      onStep(`what-if over ${gen.decisions} decisions`);
      const wi = child(['whatif', dir]);
      return {
        targetEvents: target,
        events: gen.events,
        decisions: wi.decisions,
        generate: { eventsPerSecond: rate(gen.events, gen.seconds) },
        rebuild: { eventsPerSecond: rate(rb.events, rb.seconds), seconds: rb.seconds, maxRssMB: rb.maxRssMB },
        whatIf: { decisionsPerSecond: rate(wi.decisions, wi.seconds), seconds: wi.seconds, maxRssMB: wi.maxRssMB },
        bytes: { store: gen.bytes as StoreBytes, readModels: rb.bytes as ReadModelBytes },
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
