import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';

/** What a watched worker tells as it answers: its thread, the type of what it posted, and every module its thread has loaded by then. */
export interface Told {
  threadId: number;
  answer: string | undefined;
  loaded: string[];
}

/**
 * A worker's entry (a .ts source, through tsx) that loads nothing else of ours and, each time the
 * worker posts anything but progress, tells on a BroadcastChannel its threadId and its own thread's
 * require.cache: what the worker really loaded, as it runs, rather than what its source imports.
 */
export function watched(worker: string) {
  const name = `watched-worker-${randomUUID()}`;
  const file = path.join(os.tmpdir(), `${name}.js`);
  fs.writeFileSync(
    file,
    `const { parentPort, threadId, BroadcastChannel } = require('node:worker_threads');
const channel = new BroadcastChannel(${JSON.stringify(name)});
const post = parentPort.postMessage.bind(parentPort);
parentPort.postMessage = (m) => {
  if (m.type !== 'progress') channel.postMessage({ threadId, answer: m.type, loaded: Object.keys(require.cache) });
  post(m);
};
require(${JSON.stringify(worker)});
`,
  );
  const told: Told[] = [];
  const channel = new BroadcastChannel(name);
  channel.onmessage = (e) => told.push((e as { data: Told }).data);
  return {
    entry: { file, execArgv: ['--require', 'tsx/cjs'] },
    /** What it told as it answered the `n`th time (from 1). */
    async told(n: number): Promise<Told> {
      for (let i = 0; i < 1000 && told.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      return told[n - 1];
    },
    close() {
      channel.close();
      fs.rmSync(file, { force: true });
    },
  };
}
