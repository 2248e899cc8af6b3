import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { createLogger, lineBytes, requestLog, type LoggedRequest } from './request-log';

/** The request log middleware on a fake request and response: the line it writes, and the metrics hook. */
function harness(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
      done();
    },
  });
  const ended: Array<{ status: number; seconds: number }> = [];
  const middleware = requestLog(createLogger({ level, stream }), (_req, res, seconds) => ended.push({ status: res.statusCode, seconds }));
  const run = (headers: Record<string, string>) => {
    const req = Object.assign(new EventEmitter(), { method: 'POST', url: '/service-requests', headers, socket: { remoteAddress: '127.0.0.1', remotePort: 1 } }) as unknown as LoggedRequest;
    const set: Record<string, string> = {};
    const res = Object.assign(new EventEmitter(), { statusCode: 200, headersSent: true, setHeader: (k: string, v: string) => (set[k] = v), getHeaders: () => set }) as unknown as ServerResponse;
    let nexted = false;
    middleware(req as IncomingMessage as LoggedRequest, res, () => (nexted = true));
    return { req, res, set, nexted };
  };
  return { lines, ended, run };
}

describe('the request log', () => {
  it('gives the request its correlation id (the caller\'s when it is an identifier), echoes it, and writes one line when the response ends', async () => {
    const h = harness();
    const { req, res, set, nexted } = h.run({ 'x-correlation-id': 'ticket-4711', 'x-api-key': 'secret-key-1', cookie: 'c=1' });
    expect(nexted).toBe(true);
    expect(req.id).toBe('ticket-4711');
    expect(set['x-correlation-id']).toBe('ticket-4711');
    req.ledgerRequestId = 'A:B:1';
    res.emit('finish');
    res.emit('close'); // the same response: still one line
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.lines).toHaveLength(1);
    expect(h.lines[0]).toMatchObject({ level: 30, msg: 'request completed', correlationId: 'ticket-4711', requestId: 'A:B:1', req: { method: 'POST', url: '/service-requests', headers: { 'x-api-key': '[redacted]', cookie: '[redacted]' } }, res: { statusCode: 200 } });
    expect(typeof h.lines[0].responseTime).toBe('number');
    expect(JSON.stringify(h.lines)).not.toContain('secret-key-1');
    expect(h.ended).toEqual([{ status: 200, seconds: expect.any(Number) }]);
  });

  it('makes a new UUID for a correlation id that is not an identifier; a 5xx is "request errored" with err', async () => {
    const h = harness();
    const { req, res } = h.run({ 'x-correlation-id': '=cmd|x' });
    expect(req.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    res.statusCode = 503;
    res.emit('close');
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.lines[0]).toMatchObject({ msg: 'request errored', correlationId: req.id, res: { statusCode: 503 }, err: { message: 'failed with status code 503' } });
  });

  it('below info it writes no line, and still counts the request', async () => {
    const h = harness('warn');
    h.run({}).res.emit('finish');
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.lines).toEqual([]);
    expect(h.ended).toHaveLength(1);
  });

  it("hands stdout's SonicBoom each line as its UTF-8 bytes (buffer mode), not as text it appends to and measures again", () => {
    const written: unknown[] = [];
    const sink = lineBytes({ write: (data: unknown) => (written.push(data), true) } as never);
    expect(sink.write('{"msg":"Zähler ✓"}\n')).toBe(true);
    expect(written).toHaveLength(1);
    expect(Buffer.isBuffer(written[0])).toBe(true);
    expect((written[0] as Buffer).equals(Buffer.from('{"msg":"Zähler ✓"}\n', 'utf8'))).toBe(true);
  });

  it('on a piped stdout, every line arrives whole and in order, the last ones flushed at exit', () => {
    // A process logging 2,000 lines (non-ASCII text in each) as fast as it can, then exiting at once: the lines that
    // wait while a write is in flight go out together, and those still waiting at exit are written by pino's flush.
    const script = `const { createLogger } = require('./apps/ledger-api/src/http/request-log');
      const log = createLogger({ level: 'info' });
      for (let i = 0; i < 2000; i++) log.info({ i, note: 'Zähler ✓ '.repeat(i % 7) }, 'line');
      process.exit(0);`;
    const out = execFileSync(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', '-e', script], {
      cwd: path.join(__dirname, '..', '..', '..', '..'),
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', TS_NODE_PROJECT: 'tsconfig.json' },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { i: number; note: string; msg: string });
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(lines.every((l) => l.msg === 'line' && l.note === 'Zähler ✓ '.repeat(l.i % 7))).toBe(true);
  });
});
