/**
 * `modelship serve`: every model and deployment of a config file (and of the command line) behind one HTTP
 * server, until SIGTERM or SIGINT, which drain in-flight requests and exit 0.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  createHandler,
  isRouted,
  ModelshipError,
  parseNamedRef,
  isPathRef,
  type Deployment,
  type Servable,
} from '../../index.node.js';
import { serve, type ServeOptions } from '../../node.js';
import { buildFromConfig, resolvePath } from '../config/build.js';
import type { ModelshipConfig } from '../config/config-schema.js';
import { loadConfig } from '../config/load-config.js';
import { createCliLogger, logWith, type LogFormat } from '../log.js';
import { intOption, durationMsOption, canaryOption } from '../parse-flags.js';
import { EXIT } from '../ui.js';

interface ServeFlags {
  config?: string;
  port?: number;
  host?: string;
  grpcPort?: number;
  workers?: number;
  maxBatch?: number;
  maxDelay?: number;
  canary?: { ref: string; weight: number };
  shadow?: string;
  name?: string;
  adminTokenFile?: string;
  metrics?: boolean;
  logFormat?: LogFormat;
}

/** The model name in `vertex:[projects/p/locations/l/models/]m…`, `azureml:m…`, `azureml://registries/r/models/m/…`, `dvc:m…`. */
const SCHEME_NAME =
  /^(?:vertex:(?:projects\/[^/@]+\/locations\/[^/@]+\/models\/)?|azureml:(?:\/\/registries\/[^/]+\/models\/)?|dvc:)([A-Za-z0-9][A-Za-z0-9._-]*)/;

/** The name a reference is served under when the command line gives it: the model's name, or the file's. */
export function nameOf(ref: string): string {
  const named = SCHEME_NAME.exec(ref);
  if (named) return named[1] as string;
  if (isPathRef(ref) || /^[a-z][a-z0-9+.-]*:\/\//i.test(ref))
    return (
      basename(ref.split(/[?#]/)[0] ?? ref)
        .replace(/\.onnx$/i, '')
        .replace(/[^A-Za-z0-9._-]/g, '-') || 'model'
    );
  const scheme = /^(models:\/|wandb:|sagemaker:)(.*)$/.exec(ref);
  const body = scheme ? (scheme[2] ?? '') : ref;
  const last =
    body
      .replace(/^\/+/, '')
      .split('/')
      .at(scheme?.[1] === 'wandb:' ? -1 : 0) ?? body;
  try {
    return parseNamedRef(last.replace(/:[^:]*$/, '')).name;
  } catch {
    return last.replace(/[@:].*$/, '') || 'model';
  }
}

/** The config the command line describes, laid over the file's (the command line wins). */
export function withCommandLine(config: ModelshipConfig, refs: readonly string[], flags: ServeFlags): ModelshipConfig {
  const models = { ...config.models };
  const deployments = { ...config.deployments };
  if (flags.canary !== undefined || flags.shadow !== undefined) {
    if (refs.length !== 1)
      throw new ModelshipError(
        'INVALID_OPTIONS',
        '--canary and --shadow need exactly one stable model: `modelship serve <stable-ref> --canary <ref>=<weight>`.',
      );
    const stable = refs[0] as string;
    deployments[flags.name ?? nameOf(stable)] = {
      stable,
      ...(flags.canary ? { canary: flags.canary } : {}),
      ...(flags.shadow ? { shadow: { ref: flags.shadow } } : {}),
    } as never;
  } else {
    for (const ref of refs) models[refs.length === 1 && flags.name ? flags.name : nameOf(ref)] = { ref } as never;
  }
  return { ...config, models, deployments };
}

async function adminToken(config: ModelshipConfig, dir: string, flags: ServeFlags): Promise<string | undefined> {
  const file = flags.adminTokenFile ?? (config.server?.adminTokenFile as string | undefined);
  if (file !== undefined) {
    const path = flags.adminTokenFile !== undefined ? resolve(file) : resolvePath(dir, file);
    try {
      return (await readFile(path, 'utf8')).trim();
    } catch (cause) {
      throw new ModelshipError(
        'INVALID_OPTIONS',
        `The admin token file cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'}); check --admin-token-file or server.adminTokenFile.`,
        { cause },
      );
    }
  }
  const env = config.server?.adminTokenEnv as string | undefined;
  return env === undefined ? undefined : process.env[env];
}

function describe(s: Servable): string {
  if (!isRouted(s) || (s as Partial<Deployment>).kind !== 'deployment') return `version ${s.version}`;
  const st = (s as Deployment).status();
  const parts = [`stable ${st.stable.version}`];
  if (st.canary) parts.push(`canary ${st.canary.version} (${Math.round(st.canary.weight * 1000) / 10}%)`);
  if (st.shadow) parts.push(`shadow ${st.shadow.version}`);
  return `deployment: ${parts.join(', ')}`;
}

async function runServe(refs: string[], flags: ServeFlags): Promise<number> {
  const file = flags.config === undefined ? undefined : resolve(flags.config);
  const dir = file === undefined ? process.cwd() : dirname(file);
  const config = withCommandLine(file === undefined ? {} : await loadConfig(file), refs, flags);
  if (Object.keys(config.models ?? {}).length + Object.keys(config.deployments ?? {}).length === 0)
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'Nothing to serve: give a model (`modelship serve ./model.onnx`) or a config file (`--config modelship.yaml`).',
    );
  const server = config.server ?? {};
  const logFormat = flags.logFormat ?? config.telemetry?.logFormat ?? 'text';
  const logger = createCliLogger(logFormat);
  const token = await adminToken(config, dir, flags);
  const built = await buildFromConfig(config, dir, {
    overrides: { workers: flags.workers, maxBatchSize: flags.maxBatch, maxQueueDelayMs: flags.maxDelay },
    logger,
    onReady: (s) =>
      logWith(logger, 'info', `ready ${s.name} ${describe(s)}`, {
        'labels.model_name': s.name,
        'labels.model_version': s.version,
      }),
  });
  const telemetry = config.telemetry ?? {};
  const metrics = flags.metrics ?? telemetry.metrics;
  const handler = createHandler({
    models: built.servables,
    ...(token !== undefined ? { admin: { token } } : {}),
    ...(server.maxBodyBytes !== undefined ? { maxBodyBytes: server.maxBodyBytes as number } : {}),
    ...(server.basePath !== undefined ? { basePath: server.basePath as string } : {}),
    ...(metrics !== undefined ? { metrics } : {}),
    ...(telemetry.accessLog !== undefined ? { accessLog: telemetry.accessLog } : {}),
    logger,
  });
  const grpcPort = flags.grpcPort ?? server.grpcPort;
  const grpc = grpcPort !== undefined ? { ...(server.grpc as object | undefined), port: grpcPort } : server.grpc;
  const serveOptions = {
    port: flags.port ?? (server.port as number | undefined) ?? 8080,
    ...((flags.host ?? server.host) ? { host: flags.host ?? server.host } : {}),
    ...(server.shutdownTimeoutMs !== undefined ? { shutdownTimeoutMs: server.shutdownTimeoutMs } : {}),
    ...(server.requestTimeoutMs !== undefined ? { requestTimeoutMs: server.requestTimeoutMs } : {}),
    ...(server.maxInFlightBodyBytes !== undefined ? { maxInFlightBodyBytes: server.maxInFlightBodyBytes } : {}),
    ...(grpc !== undefined ? { grpc } : {}),
  } as ServeOptions;
  let running;
  try {
    running = await serve(handler, serveOptions);
  } catch (error) {
    await handler.close().catch(() => undefined);
    await built.close();
    throw error;
  }
  logWith(logger, 'info', `listening on ${running.url}${token !== undefined ? ' (admin routes on)' : ''}`, {
    'url.full': running.url,
  });
  if (running.grpc !== undefined)
    logWith(logger, 'info', `gRPC on ${running.grpc.url}`, { 'url.full': running.grpc.url });
  const signal = await new Promise<NodeJS.Signals>((done) => {
    process.once('SIGTERM', () => done('SIGTERM'));
    process.once('SIGINT', () => done('SIGINT'));
  });
  // A second signal while draining stops at once, as users expect from a second Ctrl-C.
  const force = (): void => process.exit(130);
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  logger.info(`${signal}: draining requests in flight, then closing`);
  await running.close();
  await built.close();
  logger.info('closed');
  return EXIT.ok;
}

/** Adds `serve` to the program. */
export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('Serve models and deployments over HTTP until SIGTERM/SIGINT (which drain, then exit 0)')
    .argument('[refs...]', 'models to serve: files, URLs with #sha256=, or registry references')
    .option('-c, --config <file>', 'a modelship.yaml or .json (docs/cli.md)')
    .option('-p, --port <port>', 'port to listen on, 0 for a free one (default 8080)', intOption)
    .option('--host <host>', 'interface to bind (default: all)')
    .option('--grpc-port <port>', 'also serve KServe v2 gRPC on this port', intOption)
    .option('--workers <n>', 'worker threads per model (each holds one session)', intOption)
    .option('--max-batch <n>', 'largest dynamic batch per model', intOption)
    .option('--max-delay <duration>', 'longest wait for a fuller batch, e.g. 2ms', durationMsOption)
    .option('--canary <ref=weight>', 'serve <ref> as a canary taking weight (0-1) of the traffic', canaryOption)
    .option('--shadow <ref>', 'mirror traffic to <ref>; it never answers callers')
    .option('--name <name>', 'the name to serve a single command-line model under')
    .option('--admin-token-file <file>', 'turn the admin routes on, with the bearer token in this file')
    .option('--metrics', 'Prometheus /metrics on the same port')
    .option('--log-format <format>', 'text (default) or json (ECS)', (v: string): LogFormat => {
      if (v !== 'text' && v !== 'json') throw new ModelshipError('INVALID_OPTIONS', '--log-format is text or json');
      return v;
    })
    .addHelpText(
      'after',
      `
Examples:
  $ modelship serve ./mnist.onnx --port 8080
  $ modelship serve --config modelship.yaml
  $ modelship serve mnist@production --canary mnist@candidate=0.1 --admin-token-file ./token
  $ MLFLOW_TRACKING_URI=http://mlflow:5000 modelship serve models:/mnist@prod --metrics --log-format json`,
    )
    .action(async (refs: string[], flags: ServeFlags) => {
      process.exitCode = await runServe(refs, flags);
    });
}
