import 'reflect-metadata';
import { DomainError } from '@ledger/domain';
import { StoreDamagedError, StoreUnavailableError, UnreadableEventError } from '@ledger/event-store';
import { IntakeError } from '@ledger/ledger';
import { ReadModelRowError, ReadModelsNotOfStoreError } from '@ledger/projections';
import { ConfigError } from '@ledger/runtime';
import { CliError, runCli } from './cli';
import { forTerminal } from './support';

const json = process.argv.includes('--json');
runCli(process.argv.slice(2), process.env, {
  json,
  tty: !!process.stderr.isTTY,
  // What is printed may quote a file's or the store's values: never a control character to the terminal.
  out: (text) => process.stdout.write(`${forTerminal(text)}\n`),
  err: (text) => process.stderr.write(forTerminal(text)),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Errors whose message is the reason and what to do; anything else is a fault of the CLI's own.
    const known = [CliError, DomainError, IntakeError, StoreUnavailableError, ConfigError, UnreadableEventError, StoreDamagedError, ReadModelsNotOfStoreError, ReadModelRowError].some((k) => err instanceof k);
    const reason = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ledger: ${forTerminal(known ? reason : `unexpected error: ${reason}`)}\n`);
    if (json) process.stdout.write(`${forTerminal(JSON.stringify({ error: reason }))}\n`);
    process.exitCode = 1;
  },
);
