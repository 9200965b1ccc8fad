/**
 * `modelship status|promote|rollback|weights|switch`: a running server's admin routes
 * (`GET/POST /admin/deployments/{name}`, docs/http-api.md) from a terminal, with the bearer token read from a
 * file so it never sits in the shell history or the process list.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ModelshipError, type DeploymentStatus } from '../../index.node.js';
import { CommandFailure, EXIT, say, table } from '../ui.js';

interface AdminFlags {
  url?: string;
  tokenFile?: string;
  json?: boolean;
}

async function token(flags: AdminFlags): Promise<string> {
  if (flags.tokenFile !== undefined) {
    let text: string;
    try {
      text = (await readFile(flags.tokenFile, 'utf8')).trim();
    } catch (cause) {
      throw new ModelshipError(
        'INVALID_OPTIONS',
        `The token file cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'}); check --token-file.`,
        { cause },
      );
    }
    // What a bearer header can carry (the server refuses other tokens at start): anything else is the wrong file.
    if (!/^[\x21-\x7e]+$/.test(text))
      throw new ModelshipError(
        'INVALID_OPTIONS',
        'The token file does not hold a token (one line of printable characters without spaces); check --token-file.',
      );
    return text;
  }
  const env = process.env.MODELSHIP_ADMIN_TOKEN;
  if (env !== undefined && env !== '') return env;
  throw new ModelshipError(
    'INVALID_OPTIONS',
    'The admin routes need the token the server was started with: --token-file <file> (or MODELSHIP_ADMIN_TOKEN).',
  );
}

/** Calls an admin route; a refused action (4xx other than 401/404) exits 1, anything else that fails exits 2. */
async function call(flags: AdminFlags, path: string, body?: object): Promise<unknown> {
  const base = (flags.url ?? process.env.MODELSHIP_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(`${base}/admin/deployments${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${await token(flags)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (cause) {
    if (ModelshipError.isInstance(cause)) throw cause;
    throw new ModelshipError(
      'UPSTREAM_UNAVAILABLE',
      `The server at ${base} cannot be reached; check --url (or MODELSHIP_URL) and that it is running.`,
      { cause },
    );
  }
  const text = await res.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = undefined;
  }
  if (res.ok) return answer;
  const error = (answer as { error?: { code?: string; message?: string } } | undefined)?.error;
  const what = `${error?.code ?? `HTTP ${res.status}`}: ${error?.message ?? (res.statusText || 'no details')}`;
  if (res.status === 401) throw new CommandFailure(`${what} (is --token-file the server's admin token?)`, EXIT.usage);
  if (res.status === 404 && (error?.code === undefined || ['ROUTE_NOT_FOUND', 'MODEL_NOT_FOUND'].includes(error.code)))
    throw new CommandFailure(
      `${what} (admin routes are off unless the server has a token, and names are deployments)`,
      EXIT.usage,
    );
  throw new CommandFailure(what, res.status < 500 ? EXIT.failed : EXIT.usage);
}

function show(status: DeploymentStatus, json: boolean | undefined): void {
  if (json === true) return say(JSON.stringify(status, null, 2));
  const pct = (w: number): string => `${Math.round(w * 1000) / 10}%`;
  say(`${status.name}: ${status.state}`);
  say(
    table([
      ['role', 'version', 'ref', 'state', 'weight', 'requests', 'errors'],
      ...(
        [
          ['stable', status.stable, status.canary ? pct(1 - status.canary.weight) : '100%'],
          ['canary', status.canary, status.canary ? pct(status.canary.weight) : ''],
          ['shadow', status.shadow, 'mirror'],
          ['previous', status.previous, ''],
        ] as const
      )
        .filter(([, v]) => v !== undefined)
        .map(([role, v, weight]) => [
          role,
          v?.version ?? '',
          v?.ref ?? '',
          v?.state ?? '',
          weight,
          String(v?.stats.requests ?? ''),
          String(v?.stats.errors ?? ''),
        ]),
    ]),
  );
}

function weightOf(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !(n >= 0 && n <= 1))
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `The weight is a share from 0 to 1 such as 0.25, not ${JSON.stringify(text)}.`,
    );
  return n;
}

const EXAMPLES = `
The token is read from --token-file (or MODELSHIP_ADMIN_TOKEN); the server is --url (or MODELSHIP_URL,
default http://127.0.0.1:8080). Exit codes: 0 done; 1 the server refused the action (e.g. INCOMPATIBLE_SIGNATURE,
VALIDATION_FAILED); 2 usage error, wrong token, unknown deployment or unreachable server.

Examples:
  $ modelship status --url http://models:8080 --token-file ./admin-token
  $ modelship weights digits 0.25 --token-file ./admin-token
  $ modelship switch digits digits@candidate --token-file ./admin-token
  $ modelship rollback digits --token-file ./admin-token`;

function adminFlags(command: Command): Command {
  return command
    .option('--url <url>', 'the server (default $MODELSHIP_URL or http://127.0.0.1:8080)')
    .option('--token-file <file>', 'a file holding the admin token (default $MODELSHIP_ADMIN_TOKEN)')
    .option('--json', 'print the status as JSON')
    .addHelpText('after', EXAMPLES);
}

/** Adds `status`, `promote`, `rollback`, `weights` and `switch` to the program. */
export function adminCommands(program: Command): void {
  adminFlags(
    program
      .command('status')
      .description("Show a deployment's versions, weights and request counts (all deployments without a name)")
      .argument('[deployment]', 'the deployment'),
  ).action(async (name: string | undefined, flags: AdminFlags) => {
    const answer = await call(flags, name === undefined ? '' : `/${encodeURIComponent(name)}`);
    const all = name === undefined ? (answer as { deployments: DeploymentStatus[] }).deployments : [answer];
    if (flags.json === true && name === undefined) return say(JSON.stringify(answer, null, 2));
    for (const s of all as DeploymentStatus[]) show(s, flags.json);
  });
  const action = (name: string, description: string, body: (...args: string[]) => object, extra?: string) => {
    const c = program.command(name).description(description).argument('<deployment>', 'the deployment');
    if (extra !== undefined) c.argument(`<${extra}>`);
    adminFlags(c).action(async (...args: unknown[]) => {
      const values = args.slice(0, extra === undefined ? 1 : 2) as string[];
      const flags = args[values.length] as AdminFlags;
      const status = await call(flags, `/${encodeURIComponent(values[0] as string)}`, body(...values));
      show(status as DeploymentStatus, flags.json);
    });
  };
  action('promote', 'Make the canary the stable version', () => ({ action: 'promote' }));
  action('rollback', 'Take the canary out of service, or revert the last switch', () => ({ action: 'rollback' }));
  action(
    'weights',
    "Set the canary's share of the traffic (0-1)",
    (_d, weight) => ({ action: 'weights', weight: weightOf(weight as string) }),
    'weight',
  );
  action(
    'switch',
    "Blue-green switch to another version of the deployment's model (2, name/2, name@alias)",
    (_d, ref) => ({ action: 'switch', ref }),
    'ref',
  );
}
