import { STATUS_CODES } from 'node:http';
import { ConflictException, ForbiddenException, HttpException, NotFoundException, UnauthorizedException, type ArgumentsHost } from '@nestjs/common';
import { JobsClosedError } from '@ledger/audit';
import { DomainError, FactReusedError } from '@ledger/domain';
import { AppendTooLargeError, EventIdConflictError, StoreBusyError, StoreFullError, StoreUnavailableError, UnreadableEventError, WrongExpectedRevisionError } from '@ledger/event-store';
import { IntakeError, StreamContentionError } from '@ledger/ledger';
import { ReadModelRowError } from '@ledger/projections';
import { ErrorsFilter } from './errors.filter';
import { JobEndedError, JobNotRunError } from './jobs.controller';

/** The reply the filter gives to `thrown`: its status and body. */
function answer(thrown: unknown): { status: number; body: { statusCode?: number; error?: string; message?: unknown } } {
  let reply: { status: number; body: never } | undefined;
  const res = { status: (status: number) => ({ json: (body: never) => void (reply = { status, body }) }) };
  const host = { switchToHttp: () => ({ getResponse: () => res, getRequest: () => ({ id: 'test' }) }) } as unknown as ArgumentsHost;
  const filter = new ErrorsFilter();
  (filter as unknown as { logger: { error(): void } }).logger = { error: () => undefined }; // the 500s' log lines: not this spec's
  filter.catch(thrown, host);
  return reply!;
}

/** Every error the API answers, by the status it answers with. */
const THROWN: Array<[string, number, unknown]> = [
  ['bad input (DomainError)', 400, new DomainError('mpxn', 'is not an MPAN')],
  ['bad input (IntakeError)', 400, new IntakeError('body', 'must be a JSON object')],
  ['malformed JSON (body-parser)', 400, Object.assign(new Error('Unexpected token'), { type: 'entity.parse.failed' })],
  ['a body that does not decode (body-parser)', 400, Object.assign(new Error('invalid gzip'), { expose: true, status: 400 })],
  ['no key', 401, new UnauthorizedException('missing API key')],
  ['a key of the wrong role', 403, new ForbiddenException('needs auditor')],
  ['not found', 404, new NotFoundException('device not known')],
  ['a fact reused', 409, new FactReusedError('requestId', 'the RequestID', ['srv'])],
  ['a wrong expected revision', 409, new WrongExpectedRevisionError('device-1', 1n, 2n)],
  ['an event id reused', 409, new EventIdConflictError('device-1', ['e1'])],
  ['a cancelled job', 409, new JobEndedError('verify', 'j1', 'cancelled', null)],
  ['a job ended already', 409, new ConflictException('job j1 has ended already')],
  ['an append too large', 413, new AppendTooLargeError('device-1', 2_000_000, 1_000_000)],
  ['a body over its limit (body-parser)', 413, Object.assign(new Error('too large'), { type: 'entity.too.large', length: 70_000, limit: 65_536 })],
  ['a Content-Encoding not taken (body-parser)', 415, Object.assign(new Error('unsupported content encoding "zstd"'), { expose: true, status: 415 })],
  ['an unreadable stored event', 500, new UnreadableEventError('device-1', 3n, 7n, 'not JSON')],
  ['an unreadable read-model row', 500, new ReadModelRowError('decisions', 'r1', '7', 'outcome differs')],
  ['a failed job', 500, new JobEndedError('verify', 'j1', 'failed', 'boom')],
  ['anything else', 500, new TypeError('a bug')],
  ['an unreachable store', 503, new StoreUnavailableError('closed')],
  ['a busy store', 503, new StoreBusyError('database is locked')],
  ['a job not run for a busy store', 503, new JobNotRunError('verify', 'j1', new StoreBusyError('database is locked'))],
  ['a contended stream', 503, new StreamContentionError('device-1', 20)],
  ['shutting down', 503, new JobsClosedError()],
  ['a full store', 507, new StoreFullError('disk full')],
  ['a job failed for want of space', 507, new JobEndedError('rebuild', 'j1', 'failed', 'disk full', true)],
  ['an HttpException with a text body', 410, new HttpException('gone', 410)],
];

describe('each error is answered with its status and, as `error`, that status\'s reason phrase', () => {
  it.each(THROWN)('%s: %d', (_, status, thrown) => {
    const { status: answered, body } = answer(thrown);
    expect({ answered, statusCode: body.statusCode, error: body.error }).toEqual({ answered: status, statusCode: status, error: STATUS_CODES[status] });
  });

  it('the phrases are those the API answered before it took them from STATUS_CODES (2026-11-28): none changed', () => {
    const phrases = Object.fromEntries(THROWN.map(([, , thrown]) => answer(thrown)).map(({ status, body }) => [status, body.error]));
    expect(phrases).toEqual({
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      409: 'Conflict',
      410: 'Gone',
      413: 'Payload Too Large',
      415: 'Unsupported Media Type',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
      507: 'Insufficient Storage',
    });
  });
});
