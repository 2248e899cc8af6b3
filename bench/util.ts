import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const tmpDir = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `ledger-bench-${name}-`));

/** Wall-clock seconds, and the CPU seconds (user + system) of this process meanwhile: less moved by a busy shared machine. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds: (used.user + used.system) / 1e6 };
}

export const rate = (n: number, seconds: number) => Math.round(n / seconds);
export const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
export const fmt = (n: number) => n.toLocaleString('en-GB');

/** Runs `count` tasks with at most `concurrency` in flight. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
