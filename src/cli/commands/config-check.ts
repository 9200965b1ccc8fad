/** `modelship config check [file]`: validates a config file without loading anything. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load-config.js';
import { EXIT, say, style } from '../ui.js';

/** Adds `config check` to the program. */
export function configCommand(program: Command): void {
  const config = program
    .command('config')
    .description('Work with modelship.yaml config files')
    .addHelpText('after', '\nExamples:\n  $ modelship config check modelship.yaml');
  config
    .command('check')
    .description('Validate a config file (schema, references between entries, environment) without starting anything')
    .argument('[file]', 'the config file', 'modelship.yaml')
    .addHelpText(
      'after',
      `
Exit codes: 0 valid; 2 invalid, with one line per problem (file:line:column key: message).

Examples:
  $ modelship config check
  $ modelship config check deploy/modelship.yaml`,
    )
    .action(async (file: string) => {
      const c = await loadConfig(resolve(file));
      const count = (o: object | undefined): number => Object.keys(o ?? {}).length;
      say(
        `${style.green('ok')} ${file}: ${count(c.registries)} registries, ${count(c.models)} models, ${count(c.deployments)} deployments`,
      );
      process.exitCode = EXIT.ok;
    });
}
