import * as http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface OpenLoadResult {
  /** Requests scheduled (rate x seconds). */
  offered: number;
  /** Requests answered (any status). */
  answered: number;
  /** Answered requests a second, from the first scheduled instant to the last answer. */
  throughput: number;
  p50ms: number;
  p99ms: number;
  /** How late this process sent its latest request against its schedule (its own stalls; counted in the latencies). */
  maxSendLateMs: number;
  non2xx: number;
  /** Requests that failed (a socket error) or were not answered within `drainMs` after the schedule's end. */
  errors: number;
}

/**
 * An open-model load: `rate` requests a second at even intervals for `seconds`, each sent at its
 * scheduled instant whether or not the ones before it have been answered (on a free keep-alive
 * socket, or a new one), and its latency counted from that instant, so that a stall of this
 * process's timers counts against the server rather than hiding it. autocannon's `overallRate`
 * is not this: it gives each connection a quota of requests a second, sent back to back from the
 * start of each second, so all its connections are in flight at once for most of the second.
 */
export async function openLoad({ port, path, headers, body, rate, seconds, drainMs = 10_000 }: { port: number; path: string; headers: Record<string, string>; body: () => string; rate: number; seconds: number; drainMs?: number }): Promise<OpenLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const offered = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  let sent = 0;
  let settled = 0;
  let non2xx = 0;
  let maxSendLateMs = 0;
  let frozen = false;
  let lastAnswer = 0;
  let allSettled!: () => void;
  const done = new Promise<void>((resolve) => (allSettled = resolve));
  const settle = () => ++settled === offered && allSettled();
  const send = (scheduled: number) => {
    let over = false; // a socket's error after the response began would settle it a second time
    const once = () => !over && ((over = true), settle());
    const payload = body();
    const req = http.request({ agent, host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(payload) } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (frozen) return; // answered after the drain's end: not counted
        lastAnswer = performance.now();
        latencies.push(lastAnswer - scheduled);
        if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
        once();
      });
    });
    req.on('error', once);
    req.end(payload);
  };
  const start = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    for (; sent < offered && start + sent * interval <= now; sent++) {
      const scheduled = start + sent * interval;
      maxSendLateMs = Math.max(maxSendLateMs, now - scheduled);
      send(scheduled);
    }
    if (sent === offered) clearInterval(timer);
  }, 1);
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, seconds * 1000 + drainMs).unref())]);
  clearInterval(timer);
  frozen = true;
  const answered = latencies.sort((a, b) => a - b);
  const failed = offered - answered.length;
  agent.destroy();
  const at = (q: number) => (answered.length ? +answered[Math.min(answered.length - 1, Math.ceil(q * answered.length) - 1)].toFixed(1) : NaN);
  return {
    offered,
    answered: answered.length,
    throughput: Math.round(answered.length / (Math.max(lastAnswer - start, seconds * 1000) / 1000)),
    p50ms: at(0.5),
    p99ms: at(0.99),
    maxSendLateMs: +maxSendLateMs.toFixed(1),
    non2xx,
    errors: failed,
  };
}
