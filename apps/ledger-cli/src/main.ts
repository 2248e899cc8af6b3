import 'reflect-metadata';
import { DomainError } from '@ledger/domain';
import { StoreUnavailableError } from '@ledger/event-store';
import { IntakeError } from '@ledger/ledger';
import { ConfigError } from '@ledger/runtime';
import { CliError, runCli } from './cli';

const json = process.argv.includes('--json');
runCli(process.argv.slice(2), process.env, {
  json,
  tty: !!process.stderr.isTTY,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const known = err instanceof CliError || err instanceof DomainError || err instanceof IntakeError || err instanceof StoreUnavailableError || err instanceof ConfigError;
    const reason = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ledger: ${known ? reason : `unexpected error: ${reason}`}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: reason })}\n`);
    process.exitCode = 1;
  },
);
