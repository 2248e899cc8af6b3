import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import { DomainError } from '@ledger/domain';
import { AppendTooLargeError, StoreUnavailableError, WrongExpectedRevisionError } from '@ledger/event-store';
import { IntakeError, RequestIdReusedError } from '@ledger/ledger';

/**
 * One shape for every error: `{ statusCode, error, message, field? }`. Bad input (a DomainError or
 * IntakeError, malformed JSON or XML) is a 400 naming the field; a RequestID sent again with other
 * content is a 409; an unreachable store is a 503.
 */
@Catch()
export class ErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ledger-api');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{ status(n: number): { json(b: unknown): void } }>();
    const send = (statusCode: number, error: string, message: string | string[], extra: Record<string, unknown> = {}) =>
      res.status(statusCode).json({ statusCode, error, message, ...extra });
    if (err instanceof DomainError || err instanceof IntakeError) return send(400, 'Bad Request', err.message, { field: err.field, reason: err.reason });
    if (err instanceof RequestIdReusedError) return send(409, 'Conflict', err.message, { field: 'requestId', differences: err.differences });
    if (err instanceof AppendTooLargeError) return send(413, 'Payload Too Large', err.message);
    if (err instanceof StoreUnavailableError) return send(503, 'Service Unavailable', err.message);
    if (err instanceof WrongExpectedRevisionError) return send(409, 'Conflict', `${err.message} (the request was retried and kept conflicting: send it again)`);
    if (err instanceof HttpException) {
      const body = err.getResponse();
      const status = err.getStatus();
      const raw = err as HttpException & { cause?: unknown };
      // body-parser's refusal of malformed JSON arrives as a 400 whose message is the parser's
      if (status === 400 && (raw.cause instanceof SyntaxError || /JSON/.test(String((body as { message?: unknown }).message)))) {
        return send(400, 'Bad Request', `body: malformed JSON (${String((body as { message?: unknown }).message)})`, { field: 'body' });
      }
      if (typeof body === 'object' && body) return void res.status(status).json(body);
      return send(status, HttpStatus[status] ?? 'Error', String(body));
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.parse.failed') return send(400, 'Bad Request', `body: malformed JSON (${e.message})`, { field: 'body' });
    if (e?.type === 'entity.too.large') return send(413, 'Payload Too Large', e.message ?? 'request body too large');
    this.logger.error(err instanceof Error ? err.stack : String(err));
    send(500, 'Internal Server Error', 'internal error (logged)');
  }
}
