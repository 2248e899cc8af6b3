import { Command } from 'commander';
import * as path from 'node:path';
import type { Instant, ServiceRequest } from '@ledger/domain';
import { BODY_LIMITS, importRegistrationFile, IntakeError, RequestIdReusedError, serviceRequestsFromFile } from '@ledger/ledger';
import { EXIT, open, progress, readFile, type Kit } from '../support';

/** Commands that record: a Registration Data file, service requests. */
export function recordCommands(program: Command, { env, o, command, run, print }: Kit): void {
  command(program, 'import-registrations', 'import a Registration Data file (bad lines reported, good lines kept; exit 1 if any line is rejected)')
    .argument('<file>', 'a Registration Data CSV file')
    .action(
      run(async (file: string) => {
        // As large as the API takes (POST /registrations/import): a larger one ran out of memory, or past V8's longest string, with an unexpected error.
        const bytes = readFile(file, { bytes: BODY_LIMITS.csv, what: 'a Registration Data file (as the API takes)' });
        const l = await open(env, o, false, true);
        try {
          const bar = progress(o, 'importing');
          const { lastPosition: _, ...report } = await importRegistrationFile(l.ledger, bytes, path.basename(file), { actor: 'cli:import-registrations' }, (done, total) => bar.update(done, total)).catch((err: unknown) => {
            // A file refused whole is named in the message, as submit names its files.
            throw err instanceof IntakeError && !err.where ? new IntakeError(err.field, err.reason, file) : err;
          });
          bar.done();
          const { written, unchanged, errors } = report;
          print({ ...report, file }, () => [`${file}: ${written} written, ${unchanged} unchanged, ${errors.length} rejected`, ...errors.map((e) => `  line ${e.line}: ${e.field}: ${e.reason}`)].join('\n'));
          // Lines rejected: the good ones are kept, and a script is told without reading the report (until 2026-11-27: 0).
          return errors.length ? EXIT.refused : EXIT.done;
        } finally {
          await l.close();
        }
      }),
    );

  command(program, 'submit', 'judge DUIS XML or JSON service requests (every file is validated before any is judged; a RequestID decided before for another request is refused, exit 1)')
    .argument('<files...>', 'DUIS XML files, or JSON files of one request or a list')
    .action(
      run(async (files: string[]) => {
        // Every file is read and every request validated, by the API's own intake, before anything is written.
        const requests: Array<{ file: string; request: ServiceRequest }> = [];
        for (const file of files) for (const request of await serviceRequestsFromFile(readFile(file, { bytes: BODY_LIMITS.csv, what: 'a file of service requests' }), file, new Date().toISOString())) requests.push({ file, request });
        const l = await open(env, o, false, true);
        try {
          type Judged = { file: string; requestId: string; outcome: string; responseCode: string; recorded: string; checks: Array<{ outcome: string; reason: string }>; placed: unknown[] };
          type Refused = { file: string; requestId: string; refused: { field: string; reason: string; differences?: string[] } };
          const results: Array<Judged | Refused> = [];
          for (const { file, request } of requests) {
            // Received as it is handed to the ledger: a request is judged at its receivedAt (an accepted
            // placement takes effect then), so one stamp for the whole run put each later request
            // before decisions other processes recorded meanwhile.
            try {
              const r = await l.ledger.submit({ ...request, receivedAt: new Date().toISOString() as Instant }, { actor: 'cli:submit' });
              results.push({ file, requestId: r.decision.request.requestId, outcome: r.decision.outcome, responseCode: r.decision.responseCode, recorded: r.written ? 'now' : 'before', checks: r.decision.checks, placed: r.placed });
            } catch (err) {
              // A RequestID decided before for another request: this one is refused, the others still judged.
              if (!(err instanceof RequestIdReusedError)) throw err;
              results.push({ file, requestId: err.requestId, refused: { field: 'requestId', reason: err.message, differences: err.differences } });
            }
          }
          print(results, () => results.map((r) => ('refused' in r ? `${r.requestId}: REFUSED, nothing written: ${r.refused.reason}` : `${r.requestId}: ${r.outcome} ${r.responseCode}${r.recorded === 'before' ? ' (decided before)' : ''}${reasonOf(r.checks)}`)).join('\n'));
          return results.some((r) => 'refused' in r) ? EXIT.refused : EXIT.done;
        } finally {
          await l.close();
        }
      }),
    );

}

function reasonOf(checks: Array<{ outcome: string; reason: string }>): string {
  const failed = checks.find((c) => c.outcome === 'fail');
  return failed ? `: ${failed.reason}` : '';
}

