import 'reflect-metadata';
import { runCli } from './cli';
import { EXIT, exitCodeOf, forTerminal, isKnownFailure, jsonForTerminal, writeLine } from './support';

const json = process.argv.includes('--json');
// The reader of stdout gone (`ledger verify --all | head -1`): stop there, quietly, with the code a
// shell gives a command stopped by SIGPIPE (Node ignores the signal, so the write fails EPIPE
// instead: until 2026-11-27 an unhandled error's stack on stderr and exit 1, "findings").
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(EXIT.readerGone);
});
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
