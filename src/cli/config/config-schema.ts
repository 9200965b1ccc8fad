/**
 * The `modelship.yaml` (or `.json`) schema, built from the library's own option schemas (`optionSchemas`): a
 * model entry is `loadModel`'s options, a deployment entry `createDeployment`'s, `server` is `serve`'s and
 * `createHandler`'s. What a file cannot hold is left out: functions (loggers, fetch, callbacks) and secrets.
 * Credentials come from the environment only: a registry names the variable (`tokenEnv: MY_TOKEN`) or the
 * vendor's standard one is read (`MLFLOW_TRACKING_TOKEN`, `WANDB_API_KEY`, the AWS chain).
 */
import { z } from 'zod';
import { optionSchemas as S } from '../../node.js';

/** Keys holding functions or live objects: a file cannot give them. */
const LIVE = ['dispatcher', 'fetch', 'onProgress', 'onWarning', 'onError', 'logger', 'signal', 'clock', 'random'];
/** Keys holding secrets: the environment gives them (see `*Env` keys). */
const SECRETS = ['token', 'username', 'password', 'apiKey', 'credentials', 'headers'];

type Shape = Record<string, z.ZodType>;

/** The schema without the keys a file cannot (or must not) hold; `s3` loses its `credentials` too. */
function fileSafe<T extends z.ZodObject<Shape>>(schema: T, also: readonly string[] = []): z.ZodObject<Shape> {
  const drop = new Set([...LIVE, ...SECRETS, ...also]);
  const shape: Shape = {};
  for (const [key, value] of Object.entries(schema.shape as Shape)) {
    if (drop.has(key)) continue;
    shape[key] = key === 's3' ? s3WithoutCredentials(value) : value;
  }
  return z.strictObject(shape);
}

function s3WithoutCredentials(value: z.ZodType): z.ZodType {
  const inner = (value as z.ZodOptional<z.ZodObject<Shape>>).unwrap();
  const { credentials: _dropped, ...rest } = inner.shape;
  return z.strictObject(rest).optional();
}

/** A name in the file (a registry, a tracker, a model, a deployment). */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const name = z.string().regex(NAME, 'names are letters, digits, ".", "_" or "-"');
/** The name of an environment variable holding a secret. */
const envVar = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as MY_TOKEN');

const registrySchema = z.discriminatedUnion('type', [
  fileSafe(S.localRegistry).extend({ type: z.literal('local') }),
  fileSafe(S.httpRegistry).extend({
    type: z.literal('http'),
    /** Request headers whose values come from environment variables: `{ authorization: REGISTRY_AUTH }`. */
    headersEnv: z.record(z.string(), envVar).optional(),
  }),
  fileSafe(S.mlflowRegistry).extend({
    type: z.literal('mlflow'),
    tokenEnv: envVar.optional(),
    usernameEnv: envVar.optional(),
    passwordEnv: envVar.optional(),
  }),
  fileSafe(S.wandbRegistry).extend({ type: z.literal('wandb'), apiKeyEnv: envVar.optional() }),
  fileSafe(S.sageMakerRegistry).extend({ type: z.literal('sagemaker') }),
  // Google and Azure credentials come from the environment (ADC, DefaultAzureCredential); a key file by path.
  fileSafe(S.vertexRegistry, ['accessToken']).extend({ type: z.literal('vertex') }),
  fileSafe(S.azureMlRegistry, ['credential']).extend({ type: z.literal('azureml') }),
  // `lfs.headers` would hold a token: a file gives the LFS server only (Git's credential helpers give the rest).
  fileSafe(S.dvcRegistry).extend({
    type: z.literal('dvc'),
    lfs: z.strictObject({ url: z.string().url().optional() }).optional(),
  }),
]);

const trackerSchema = z.discriminatedUnion('type', [
  fileSafe(S.localTracker).extend({ type: z.literal('local') }),
  fileSafe(S.mlflowTracker).extend({ type: z.literal('mlflow'), tokenEnv: envVar.optional() }),
  fileSafe(S.wandbTracker).extend({ type: z.literal('wandb'), apiKeyEnv: envVar.optional() }),
]);

/** `loadModel`'s options a file can hold, for a model and for every version of a deployment. */
const modelOptions = fileSafe(S.loadModel, ['registry', 'name']);

const modelSchema = modelOptions.extend({
  /** What to load: `mnist@production`, `models:/mnist@prod`, `./mnist.onnx`, `https://…#sha256=…`. */
  ref: z.string().min(1),
  /** The registry (a key of `registries`) named references resolve in. */
  registry: name.optional(),
});

const deploymentSchema = fileSafe(S.deployment, ['name', 'registry', 'tracking', 'modelOptions']).extend({
  registry: name.optional(),
  /** `loadModel` options for every version of the deployment. */
  modelOptions: modelOptions.optional(),
  /** Production evidence through a tracker of `trackers`. */
  tracking: fileSafe(S.deployment.shape.tracking.unwrap(), ['tracker']).extend({ tracker: name }).optional(),
});

const serverSchema = fileSafe(S.serve, ['fallback'])
  .extend(fileSafe(S.handler, ['models', 'admin', 'closeModels', 'metrics', 'accessLog', 'payloadLog']).shape)
  .extend({
    /** KServe v2 gRPC on this port besides HTTP (shorthand for `grpc: { port }`). */
    grpcPort: z.number().int().min(0).max(65535).optional(),
    /** The admin routes' bearer token, read from this file (relative to the config file). Off when neither is set. */
    adminTokenFile: z.string().min(1).optional(),
    /** The admin routes' bearer token, read from this environment variable. */
    adminTokenEnv: envVar.optional(),
    /** `serve` workers default for every model (each model's `workers` wins). */
    workers: z.number().int().min(0).max(1024).optional(),
  });

const telemetrySchema = z.strictObject({
  /** Prometheus `/metrics` on the server's port: `true`, or `{ path, serviceName }` (createHandler's `metrics`). */
  metrics: S.handler.shape.metrics,
  /** Access log lines: `true`, or `{ sampleRate }` (createHandler's `accessLog`; 5xx always logged). */
  accessLog: S.handler.shape.accessLog,
  /** `text` lines (default) or `json` (ECS) lines on stdout. */
  logFormat: z.enum(['text', 'json']).optional(),
});

/** The whole config file. */
export const configSchema = z
  .strictObject({
    /** The file format's version; 1 (default). */
    version: z.literal(1).optional(),
    registries: z.record(name, registrySchema).optional(),
    trackers: z.record(name, trackerSchema).optional(),
    models: z.record(name, modelSchema).optional(),
    deployments: z.record(name, deploymentSchema).optional(),
    server: serverSchema.optional(),
    telemetry: telemetrySchema.optional(),
  })
  .superRefine((config, ctx) => {
    const registries = new Set(Object.keys(config.registries ?? {}));
    const trackers = new Set(Object.keys(config.trackers ?? {}));
    const check = (value: unknown, known: Set<string>, what: string, path: (string | number)[]): void => {
      if (typeof value === 'string' && !known.has(value))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `no ${what} "${value}" in ${what === 'registry' ? 'registries' : 'trackers'}${known.size ? ` (there are: ${[...known].join(', ')})` : ''}`,
        });
    };
    for (const [key, m] of Object.entries(config.models ?? {}))
      check(m.registry, registries, 'registry', ['models', key, 'registry']);
    for (const [key, d] of Object.entries(config.deployments ?? {})) {
      check(d.registry, registries, 'registry', ['deployments', key, 'registry']);
      check((d.tracking as { tracker?: string } | undefined)?.tracker, trackers, 'tracker', [
        'deployments',
        key,
        'tracking',
        'tracker',
      ]);
      if (Object.hasOwn(config.models ?? {}, key))
        ctx.addIssue({ code: 'custom', path: ['deployments', key], message: `"${key}" is also a model's name` });
    }
  });

/** A parsed config file. */
export type ModelshipConfig = z.output<typeof configSchema>;
/** A registry entry. */
export type RegistryConfig = z.output<typeof registrySchema>;
/** A tracker entry. */
export type TrackerConfig = z.output<typeof trackerSchema>;
/** A model entry. */
export type ModelConfig = z.output<typeof modelSchema>;
/** A deployment entry. */
export type DeploymentConfig = z.output<typeof deploymentSchema>;
