import { STATUS_CODES } from 'node:http';
import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { JobsClosedError } from '@ledger/audit';
import { DomainError, FactReusedError } from '@ledger/domain';
import { ReadModelRowError } from '@ledger/projections';
import { AppendTooLargeError, EventIdConflictError, StoreBusyError, StoreFullError, StoreUnavailableError, UnreadableEventError, WrongExpectedRevisionError } from '@ledger/event-store';
import { IntakeError, StreamContentionError } from '@ledger/ledger';
import { NotReadyError } from '../health.controller';
import { JobEndedError, JobNotRunError } from './jobs.controller';

/**
 * One shape for every error: `{ statusCode, error, message, field?, code? }`. Bad input (a
 * DomainError or IntakeError, malformed JSON or XML, a body that is not UTF-8, too deep, or holds a
 * DTD) is a 400 naming the field; a body over its content type's limit a 413; a fact's name sent
 * again with other content (a FactReusedError: a RequestID, a record id, a placement), or after
 * another fact at its instant (FactChangedSinceError), a 409; a stored event the code cannot read a 500 with code
 * `UNREADABLE_STORED_EVENT` (the store's state, never the client's fault); an unreachable store,
 * a busy one (another connection's lock), a stream other processes kept moving, a job asked for while the API shuts down, or GET /health/ready not ready (NOT_READY), a 503; a full store a 507, and so a job that failed
 * for want of space (a rebuild on a full disk).
 */
@Catch()
export class ErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ledger-api');

  catch(thrown: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{ status(n: number): { json(b: unknown): void } }>();
    // The request's correlation id (see request-log.ts) on the error's log line, so it leads to the request's own line.
    const correlationId = host.switchToHttp().getRequest<{ id?: string }>().id;
    // A job not run: answered as the refusal that stopped it, with the job's id and a message saying it was not run (but an unknown error's 500).
    const notRun = thrown instanceof JobNotRunError ? thrown : undefined;
    const err = notRun ? notRun.cause : thrown;
    // `error`: the status's reason phrase, as Node's http module has it (STATUS_CODES).
    const send = (statusCode: number, message: string | string[], extra: Record<string, unknown> = {}) =>
      res.status(statusCode).json({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: notRun && statusCode !== 500 ? notRun.message : message, ...extra, ...(notRun ? { jobId: notRun.jobId } : {}) });
    if (err instanceof FactReusedError) return send(409, err.message, { field: err.field, differences: err.differences });
    if (err instanceof DomainError || err instanceof IntakeError) return send(400, err.message, { field: err.field, reason: err.reason });
    if (err instanceof AppendTooLargeError) return send(413, err.message);
    if (err instanceof StoreUnavailableError) return send(503, err.message, { code: 'STORE_UNREACHABLE' });
    if (err instanceof StoreBusyError) return send(503, err.message, { code: 'STORE_BUSY' });
    if (err instanceof StreamContentionError) return send(503, err.message, { code: 'STREAM_CONTENTION' });
    if (err instanceof JobsClosedError) return send(503, err.message, { code: 'SHUTTING_DOWN' });
    if (err instanceof NotReadyError) return send(503, err.message, { code: 'NOT_READY', status: err.status, info: err.info, details: err.details });
    if (err instanceof StoreFullError) return send(507, err.message, { code: 'STORE_OUT_OF_SPACE' });
    if (err instanceof UnreadableEventError) {
      this.logger.error({ msg: err.message, correlationId });
      return send(500, err.message, { code: 'UNREADABLE_STORED_EVENT', stream: err.stream, revision: err.revision.toString(), position: err.position.toString() });
    }
    if (err instanceof ReadModelRowError) {
      this.logger.error({ msg: err.message, correlationId });
      return send(500, err.message, { code: 'UNREADABLE_READ_MODEL_ROW', table: err.table, key: err.key, position: err.position });
    }
    if (err instanceof WrongExpectedRevisionError || err instanceof EventIdConflictError) return send(409, err.message);
    if (err instanceof JobEndedError) {
      if (err.state === 'cancelled') return send(409, err.message, { code: 'JOB_CANCELLED', jobId: err.jobId });
      if (err.outOfSpace) return send(507, err.message, { code: 'JOB_OUT_OF_SPACE', jobId: err.jobId });
      this.logger.error({ msg: err.message, correlationId });
      // A verification that met damage: what it found before it, with the damage (`result.damaged`), beside the failure.
      return send(500, err.message, { code: 'JOB_FAILED', jobId: err.jobId, ...(err.result === undefined ? {} : { result: err.result }) });
    }
    if (err instanceof HttpException) {
      const body = err.getResponse();
      const status = err.getStatus();
      const raw = err as HttpException & { cause?: unknown };
      // body-parser's refusal of malformed JSON arrives as a 400 whose message is the parser's
      if (status === 400 && (raw.cause instanceof SyntaxError || /JSON/.test(String((body as { message?: unknown }).message)))) {
        return send(400, `body: malformed JSON (${String((body as { message?: unknown }).message)})`, { field: 'body' });
      }
      if (typeof body === 'object' && body) return void res.status(status).json(body);
      return send(status, String(body));
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.parse.failed') return send(400, `body: malformed JSON (${e.message})`, { field: 'body' });
    if (e?.type === 'entity.too.large') {
      const { length, limit } = err as { length?: number; limit?: number };
      return send(413, `body: ${length ?? 'more than the limit of'} bytes, over the ${limit}-byte limit for this content type`, { field: 'body' });
    }
    // body-parser's other refusals of what the client sent (a Content-Encoding it does not take, a body that does not decode): its 4xx, with its reason.
    const refused = err as { expose?: unknown; status?: unknown; message?: unknown };
    if (refused?.expose === true && typeof refused.status === 'number' && refused.status >= 400 && refused.status < 500) {
      return send(refused.status, `body: ${String(refused.message)}`, { field: 'body' });
    }
    this.logger.error({ msg: err instanceof Error ? err.stack : String(err), correlationId });
    send(500, 'internal error (logged)');
  }
}
