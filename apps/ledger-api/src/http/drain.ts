import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AuditJobs } from '@ledger/audit';
import { SHUTDOWN_ACTOR } from './jobs.controller';

/**
 * How long shutdown waits for the requests in flight to be answered (a service request waits up
 * to 5 s for its projection): under Docker's 10 s between SIGTERM and SIGKILL. Past it, the
 * connections still open are closed (their clients see a reset; a retry is answered as usual:
 * `written: false` if the first was recorded).
 */
export const DRAIN_MS = 8_000;

/**
 * Shutdown's first step (Nest's onModuleDestroy, before the jobs close, the projector stops and
 * the stores close): the server takes no new connection and closes the idle kept-alive ones (Node
 * 20's `server.close()`); the requests being handled are answered, each reply with `Connection:
 * close`, after which Node closes its connection; a request that arrives meanwhile (sent after
 * another on its connection) is answered 503 SHUTTING_DOWN with `Connection: close`, nothing of it
 * handled (its reply, queued behind the one before, may never go out: the connection closes); the
 * jobs close at once (a route waiting on one is answered 503 SHUTTING_DOWN). Bounded by DRAIN_MS. Until 2026-11-27 the
 * projector stopped and the jobs closed first, each request in flight then waited its 5 s for a
 * projection, and kept-alive connections, answered without `Connection: close`, kept the server
 * from closing as long as their clients sent.
 */
@Injectable()
export class HttpDrain implements OnModuleDestroy {
  private readonly log = new Logger('ledger-api');
  private readonly inFlight = new Set<ServerResponse>();
  /** Each connection's requests in flight, with one 'close' listener per connection however many are pipelined on it (one per request warned MaxListenersExceededWarning past 10: until 2026-11-27, fourteenth session). */
  private readonly bySocket = new WeakMap<Socket, Set<ServerResponse>>();
  private draining = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly adapter: HttpAdapterHost,
    @Inject(AuditJobs) private readonly jobs: AuditJobs,
  ) {}

  /** Requests being handled (not yet answered, or their connection not yet closed). */
  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  /**
   * The middleware that counts the requests in flight until answered or their connection closes
   * (bootstrap: right after the request log), and answers one that arrives during the drain (sent
   * after another on its connection) 503 SHUTTING_DOWN with `Connection: close`, nothing of it handled.
   */
  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (this.draining) {
      res.statusCode = 503;
      res.setHeader('connection', 'close');
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ statusCode: 503, error: STATUS_CODES[503], message: 'the API is shutting down: nothing of this request was handled; send it again', code: 'SHUTTING_DOWN' }));
      return;
    }
    this.inFlight.add(res);
    const socket = req.socket;
    let onSocket = this.bySocket.get(socket);
    if (!onSocket) {
      const pending = (onSocket = new Set());
      this.bySocket.set(socket, pending);
      // A reply queued behind another on its connection gets no 'close' of its own when the connection closes.
      socket.once('close', () => {
        this.bySocket.delete(socket);
        for (const r of pending) this.answered(r);
      });
    }
    onSocket.add(res);
    res.once('close', () => {
      onSocket.delete(res);
      this.answered(res);
    });
    next();
  };

  private answered(res: ServerResponse): void {
    if (this.inFlight.delete(res) && this.inFlight.size === 0) this.drained?.();
  }

  async onModuleDestroy(): Promise<void> {
    this.draining = true;
    const server = this.adapter.httpAdapter?.getHttpServer() as Server | undefined;
    if (server?.listening) server.close(); // no new connection; Node 20 closes the idle kept-alive ones, now and as they go idle
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    const jobs = this.jobs.close(SHUTDOWN_ACTOR); // a request waiting on a job is answered 503 now, rather than holding the drain
    let timer: NodeJS.Timeout | undefined;
    const answered = this.inFlight.size === 0 || (await new Promise<boolean>((resolve) => {
      this.drained = () => resolve(true);
      timer = setTimeout(() => resolve(false), DRAIN_MS);
    }));
    clearTimeout(timer);
    if (!answered) {
      this.log.warn(`${this.inFlight.size} request(s) still in flight ${DRAIN_MS} ms after shutdown began: their connections are closed`);
      server?.closeAllConnections();
    }
    await jobs;
  }
}
