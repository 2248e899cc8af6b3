import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { IDENTIFIER_PATTERN } from '@ledger/ledger';

/** A request as the logging middleware leaves it: its correlation id, its key's actor (the guard's), and the RequestID a controller found in it. */
export type LoggedRequest = IncomingMessage & { id?: string; apiActor?: string; ledgerRequestId?: string; originalUrl?: string };

/** The service's pino logger, as a provider (AppModule): for the request log and what else logs for the app itself. */
export const LOGGER = Symbol('LOGGER');

export interface RequestLogOptions {
  level: string;
  /** Where the JSON lines go (tests); default stdout, written asynchronously, or pretty-printed on a terminal. */
  stream?: Writable;
}

/** The request headers that never reach the log: each present one is written as `[redacted]`. */
const SECRET_HEADERS = ['x-api-key', 'authorization', 'cookie'];

/**
 * pino's request serializer, the secret headers censored in a copy of the headers (the request's
 * own are left as they are): what pino's `redact` paths did, without the selective clone, the
 * second serialisation and the restore those cost on every line.
 */
function reqSerializer(req: IncomingMessage): ReturnType<typeof pino.stdSerializers.req> {
  const line = pino.stdSerializers.req(req);
  if (SECRET_HEADERS.some((h) => h in line.headers)) {
    line.headers = { ...line.headers };
    for (const h of SECRET_HEADERS) if (h in line.headers) line.headers[h] = '[redacted]';
  }
  return line;
}

/**
 * A response in the log: its status (null when the connection closed before it was sent). Not
 * its headers, as pino's serializer would: those are helmet's, the same on every reply (~700 of a
 * line's ~1,200 bytes), the correlation id (on the line already) and the body's type and length.
 */
function resSerializer(res: ServerResponse): { statusCode: number | null } {
  return { statusCode: res.headersSent ? res.statusCode : null };
}

/**
 * The service's pino logger: JSON lines, keys and cookies redacted. On stdout it writes
 * asynchronously (the lines that come while a write is in flight go out in one write), so a
 * request's log line costs the event loop no system call of its own; on a terminal, pretty.
 */
export function createLogger({ level, stream }: RequestLogOptions): Logger {
  const options = {
    level,
    serializers: { req: reqSerializer, res: resSerializer, err: pino.stdSerializers.err },
  };
  if (stream) return pino(options, stream);
  if (process.stdout.isTTY) return pino({ ...options, transport: { target: 'pino-pretty', options: { singleLine: true } } });
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

/** The correlation id of a request: the caller's `x-correlation-id` when it is an identifier, else a new UUID; echoed in the response. */
export function correlationId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-correlation-id'];
  const id = typeof given === 'string' && IDENTIFIER_PATTERN.test(given) ? given : randomUUID();
  res.setHeader('x-correlation-id', id);
  return id;
}

/**
 * The first middleware of every request: gives it its correlation id (`req.id`), and when the
 * response ends (or the connection closes first) writes one JSON line as pino-http's would, with
 * `req` (its key redacted), `correlationId`, `actor` (the key's: `api:<role>:<id>[:<name>]`, when the
 * guard knew it), `requestId` (a service request's), `res` and `responseTime`: "request
 * completed", or "request errored" with `err` for a 5xx; `onEnd` first (the metrics). One line and
 * one pair of listeners per request: no child logger per request, and no AsyncLocalStorage (which,
 * on Node 20, makes every promise of the process pay for async hooks).
 */
export function requestLog(logger: Logger, onEnd: (req: LoggedRequest, res: ServerResponse, seconds: number) => void) {
  return (req: LoggedRequest, res: ServerResponse, next: () => void): void => {
    const started = performance.now();
    req.id = correlationId(req, res);
    const ended = () => {
      res.off('finish', ended);
      res.off('close', ended);
      const ms = performance.now() - started;
      onEnd(req, res, ms / 1000);
      if (!logger.isLevelEnabled('info')) return;
      const line: Record<string, unknown> = { req, correlationId: req.id };
      if (req.apiActor) line.actor = req.apiActor;
      if (req.ledgerRequestId) line.requestId = req.ledgerRequestId;
      line.res = res;
      if (res.statusCode >= 500) line.err = new Error(`failed with status code ${res.statusCode}`);
      line.responseTime = Math.round(ms);
      logger.info(line, res.statusCode >= 500 ? 'request errored' : 'request completed');
    };
    res.on('finish', ended);
    res.on('close', ended);
    next();
  };
}
