/**
 * One replica of a fleet, as a user would run it: a server on its own port with two deployments sharing their
 * routing state through the registry. Started by the fleet tests and `npm run soak:fleet` as a child process.
 *
 * Env: FLEET_REGISTRY_ROOT (local registry) or FLEET_MLFLOW_URI (MLflow); FLEET_REPLICA (name), PORT (0: any),
 * FLEET_INTERVAL_MS (watch and fleet poll), FLEET_GUARDRAILS=1 (this replica judges the canary's agreement),
 * FLEET_MIN_REQUESTS, FLEET_BAKE_MS. Prints `READY {"port":…}`, then one `EVENT {…}` line per deployment event.
 */
import {
  createDeployment,
  createHandler,
  createLocalRegistry,
  createMlflowRegistry,
  type Deployment,
  type Logger,
  type RegistryAdapter,
} from '../../src/index.node.js';
import { serve } from '../../src/node.js';
import { FLEET_ADMIN_TOKEN } from './fleet-token.js';

const env = process.env;
const interval = Number(env.FLEET_INTERVAL_MS ?? 200);
const replica = env.FLEET_REPLICA ?? `replica-${process.pid}`;

const line = (kind: string, value: unknown): void => void process.stdout.write(`${kind} ${JSON.stringify(value)}\n`);
const logger: Logger = {
  debug: () => undefined,
  info: (message: string) => line('LOG', { level: 'info', replica, message }),
  warn: (message: string) => line('LOG', { level: 'warn', replica, message }),
  error: (message: string) => line('LOG', { level: 'error', replica, message }),
};

const mlflow = env.FLEET_MLFLOW_URI;
const registry: RegistryAdapter = mlflow
  ? createMlflowRegistry({ trackingUri: mlflow, watchIntervalMs: interval })
  : createLocalRegistry({ root: env.FLEET_REGISTRY_ROOT as string, watchIntervalMs: interval });
const prefix = mlflow ? 'models:/' : '';
const fleet = { intervalMs: interval, replica };
const modelOptions = { workers: 1, warmup: false };

const deployments: Deployment[] = [
  // A 10 % canary that (almost) always disagrees with stable: the replica with guardrails takes it out.
  await createDeployment({
    name: 'mnist',
    registry,
    stable: `${prefix}mnist@production`,
    canary: { ref: `${prefix}mnist@rotated`, weight: 0.1 },
    watch: { intervalMs: interval },
    fleet,
    modelOptions,
    logger,
    ...(env.FLEET_GUARDRAILS === '1'
      ? {
          guardrails: {
            minShadowAgreement: 0.9,
            minRequests: Number(env.FLEET_MIN_REQUESTS ?? 200),
            interval: `${interval}ms`,
            window: '10m',
          },
        }
      : {}),
  }),
  // A progressive schedule every replica evaluates: the shared state makes it advance once per step.
  await createDeployment({
    name: 'mnist-progressive',
    registry,
    stable: `${prefix}mnist/1`,
    canary: { ref: `${prefix}mnist/2`, weight: 0 },
    progressive: { steps: [0.2, 0.5], bake: `${Number(env.FLEET_BAKE_MS ?? 1500)}ms` },
    keepPrevious: 0,
    fleet,
    modelOptions,
    logger,
  }),
];
for (const d of deployments)
  for (const event of ['switch', 'rollback', 'promote', 'guardrail', 'refused'] as const)
    d.on(event, (payload) =>
      line('EVENT', {
        replica,
        deployment: d.name,
        event,
        payload: { ...payload, error: undefined, stats: undefined },
      }),
    );

const server = await serve(createHandler({ models: deployments, admin: { token: FLEET_ADMIN_TOKEN } }), {
  port: Number(env.PORT ?? 0),
  host: '127.0.0.1',
});
line('READY', { replica, port: server.port });
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
