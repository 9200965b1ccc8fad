/**
 * Every command's `--help` has examples, and the program's exit codes are what docs/cli.md says: help and
 * --version 0, an unknown command or flag 2 (usage).
 */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { createProgram } from '../../src/cli/program.js';
import { runCli } from './cli.js';

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

function all(command: Command): Command[] {
  return command.commands.filter((c) => c.name() !== 'help').flatMap((c) => [c, ...all(c)]);
}

describe('modelship --help', () => {
  it('gives examples on every command', () => {
    const program = createProgram();
    const commands = all(program);
    expect(commands.map((c) => c.name())).toEqual(
      expect.arrayContaining([
        'serve',
        'pull',
        'inspect',
        'bench',
        'validate',
        'registry',
        'ls',
        'versions',
        'alias',
        'publish',
        'status',
        'promote',
        'rollback',
        'weights',
        'switch',
        'config',
        'check',
      ]),
    );
    for (const c of [program, ...commands]) expect(helpOf(c), c.name()).toMatch(/Examples:\n {2}\$ .*modelship /);
  });

  it('exits 0 for --help and --version, 2 for an unknown command or option', async () => {
    const help = await runCli(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--config <file>');
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const badFlag = await runCli(['inspect', 'x.onnx', '--colour']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("unknown option '--colour'");
  });

  it('prints no colour codes with NO_COLOR, even when colours are forced', async () => {
    const r = await runCli(['config', 'check', 'missing.yaml'], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error INVALID_OPTIONS: /);
    expect(r.stderr).not.toContain('\u001b[');
    const coloured = await runCli(['config', 'check', 'missing.yaml'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(coloured.stderr).toContain('\u001b[31m');
  });
});
