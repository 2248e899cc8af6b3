import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { createLogger, requestLog, type LoggedRequest } from './request-log';

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
    expect(h.lines[0].res).toEqual({ statusCode: 200 }); // not the response's headers
    expect(typeof h.lines[0].responseTime).toBe('number');
    expect(JSON.stringify(h.lines)).not.toContain('secret-key-1');
    expect(req.headers).toEqual({ 'x-correlation-id': 'ticket-4711', 'x-api-key': 'secret-key-1', cookie: 'c=1' }); // censored in the line only
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
});
