import { Command, CommanderError } from 'commander';
import { RULE_SETS } from '@ledger/domain';
import { auditCommands } from './commands/audit';
import { operateCommands } from './commands/operate';
import { recordCommands } from './commands/record';
import { reportCommands } from './commands/reports';
import { EXIT, stringify, version, type Kit, type Output } from './support';

export { CliError, EXIT, exitCodeOf, type Output } from './support';

/**
 * Runs the `ledger` CLI (commander): returns the exit code (EXIT). Unknown commands and options, and
 * missing arguments, print the reason and the command's help on stderr and give 2; `--help` and
 * `--version` give 0; a failure of the work itself throws (the bin prints it in one line, and exits
 * with exitCodeOf it: 2 for the input's fault, 3 for the ledger's).
 */
export async function runCli(argv: string[], env: Record<string, string | undefined>, o: Output): Promise<number> {
  let exitCode: number = EXIT.done;
  const print = (value: unknown, text: () => string) => o.out(o.json ? stringify(value) : text());
  const program = new Command('ledger')
    .description("the SMETS1 certificate ledger's operator CLI")
    .version(version())
    .exitOverride()
    .allowExcessArguments(false)
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => o.out(s.trimEnd()), writeErr: (s) => o.err(s) })
    .addHelpText(
      'after',
      `\nEnvironment: the API's (LEDGER_STORE, LEDGER_SQLITE_PATH, EVENTSTORE_CONNECTION_STRING, LEDGER_READMODEL_PATH,\nLEDGER_RULE_SET, ...: see the README's configuration table). Rule sets: ${RULE_SETS.map((r) => `${r.id}@${r.version}`).join(', ')} (a bare id is its latest version).`,
    );
  const command = (parent: Command, name: string, description: string) => parent.command(name).description(description).option('--json', 'JSON output, for scripts');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander hands each action its own argument types
  const run = <A extends any[]>(work: (...args: A) => Promise<number>) => async (...args: A) => {
    exitCode = await work(...args);
  };

  // An option given empty (`--at ''`, a script's `--at "$AT"` with AT unset) is a usage error, not read as left out: until
  // 2026-11-28 (eighteenth session) `report stuck-devices --at ''` reported the estate now, and `what-if --from ''` every decision.
  program.hook('preAction', (_, action) => {
    for (const option of action.options) {
      if (action.getOptionValue(option.attributeName()) === '') action.error(`error: option '${option.flags}' is empty: give it a value, or leave it out`, { exitCode: EXIT.usage, code: 'ledger.emptyOption' });
    }
  });

  const kit: Kit = { env, o, command, run, print };
  operateCommands(program, kit);
  recordCommands(program, kit);
  auditCommands(program, kit);
  reportCommands(program, kit);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // --help and --version exit 0; help shown for a missing command (commander's exitCode 1) and every other usage error, 2.
    return err.exitCode === 0 ? EXIT.done : EXIT.usage;
  }
  return exitCode;
}

