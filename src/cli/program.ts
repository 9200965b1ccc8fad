/**
 * The `modelship` program: its commands, `--version`, and the mapping of every outcome to an exit code
 * (0 done or passed, 1 ran and the answer is no, 2 usage, config or infrastructure error).
 */
import { Command, CommanderError } from 'commander';
import { adminCommands } from './commands/admin.js';
import { benchCommand } from './commands/bench.js';
import { configCommand } from './commands/config-check.js';
import { inspectCommand } from './commands/inspect.js';
import { pullCommand } from './commands/pull.js';
import { registryCommand } from './commands/registry.js';
import { serveCommand } from './commands/serve.js';
import { validateCommand } from './commands/validate.js';
import { EXIT, reportError } from './ui.js';

declare const MODELSHIP_VERSION: string | undefined;
const VERSION = typeof MODELSHIP_VERSION === 'string' ? MODELSHIP_VERSION : '0.0.0-dev';

/** Builds the program (a fresh one per run, so tests can run several). */
export function createProgram(): Command {
  const program = new Command('modelship')
    .description('Serve, pull, inspect, benchmark and gate ONNX models; drive deployments on a running server')
    .version(VERSION, '-v, --version', 'print the modelship version')
    .showHelpAfterError('(run with --help for usage and examples)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 done or passed; 1 ran and the answer is no (a failed gate, a refused action); 2 usage, config or
infrastructure error. NO_COLOR turns colours off. docs/cli.md has the details.

Examples:
  $ modelship serve ./mnist.onnx
  $ modelship serve --config modelship.yaml
  $ modelship validate candidate.onnx --against prod.onnx --data samples.jsonl --labels label --junit out.xml`,
    );
  program.configureHelp({ showGlobalOptions: true });
  serveCommand(program);
  configCommand(program);
  validateCommand(program);
  pullCommand(program);
  inspectCommand(program);
  adminCommands(program);
  registryCommand(program);
  benchCommand(program);
  for (const c of program.commands) {
    c.exitOverride();
    for (const sub of c.commands) sub.exitOverride();
  }
  return program;
}

/** Runs the command line and resolves with the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  process.exitCode = undefined;
  try {
    await createProgram().parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message; --help and --version are not errors.
      return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code)
        ? EXIT.ok
        : EXIT.usage;
    }
    return reportError(error);
  }
}
