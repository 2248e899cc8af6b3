import 'reflect-metadata';
import { runCli } from './cli';
import { exitCodeOf, forTerminal, isKnownFailure, jsonForTerminal, writeLine } from './support';

const json = process.argv.includes('--json');
runCli(process.argv.slice(2), process.env, {
  json,
  tty: !!process.stderr.isTTY,
  // What is printed may quote a file's or the store's values: never a control character to the terminal (with --json, stdout is JSON: its values kept).
  // A slow reader holds back a command that waits (writeLine): its lines are not piled up in memory.
  out: (text) => writeLine(process.stdout, json ? jsonForTerminal(text) : forTerminal(text)),
  err: (text) => process.stderr.write(forTerminal(text)),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Errors whose message is the reason and what to do; anything else is a fault of the CLI's own.
    const known = isKnownFailure(err);
    const reason = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ledger: ${forTerminal(known ? reason : `unexpected error: ${reason}`)}\n`);
    if (json) process.stdout.write(`${jsonForTerminal(JSON.stringify({ error: reason }))}\n`);
    process.exitCode = exitCodeOf(err);
  },
);
