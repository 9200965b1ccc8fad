/**
 * The other side of `npm run soak` (bench/soak.ts), in its own process so that neither the load generator nor
 * the tracking server counts in the served process's RSS or event loop: keep-alive autocannon load on both
 * protocols, and the MLflow tracking test server (test/servers/mlflow-tracking/), stopped and started on
 * request. Driven over IPC; not meant to be run by hand.
 */
import autocannon from 'autocannon';
import { buildTinyMnistModel } from '../examples/shared/demo-model.js';
import { digitImage } from '../examples/shared/mnist-data.js';
import { startMlflowTrackingServer, type MlflowTrackingServer } from '../test/servers/mlflow-tracking/server.js';

/** What soak.ts sends. */
export type PeerCommand =
  | { readonly cmd: 'models' | 'tracker-stop' | 'tracker-start' | 'stats' | 'metrics' | 'quit' }
  | { readonly cmd: 'load'; readonly targets: readonly LoadTarget[] }
  | { readonly cmd: 'load-end' };

/** One autocannon instance: `connections` keep-alive connections cycling through `requests`. */
export interface LoadTarget {
  readonly name: string;
  readonly url: string;
  readonly connections: number;
  readonly requests: readonly { readonly path: string; readonly body: string }[];
}

/** Load counters, per target and summed. */
export interface LoadStats {
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly errorSamples: readonly string[];
}

/** What the peer answers: `{ id, ... }` for the command with the same id. */
export interface PeerReply {
  readonly id: number;
  readonly url?: string;
  readonly load?: LoadStats;
  /** Distinct metric points the tracking server stored, and every point it received (duplicates included). */
  readonly metrics?: { readonly distinct: number; readonly received: number };
  readonly error?: string;
  /** Two MNIST model versions and 16 real test rows, built here so the dataset never sits in the served process. */
  readonly models?: { readonly v1: Uint8Array; readonly v2: Uint8Array; readonly rows: readonly number[][] };
}

const tracker: MlflowTrackingServer = await startMlflowTrackingServer();
const instances: { instance: autocannon.Instance; done: Promise<autocannon.Result> }[] = [];
const counts = {
  requests: 0,
  non2xx: 0,
  errors: 0,
  statusCodes: {} as Record<string, number>,
  errorSamples: [] as string[],
};

function stats(): LoadStats {
  return { ...counts, statusCodes: { ...counts.statusCodes }, errorSamples: [...counts.errorSamples] };
}

function startLoad(targets: readonly LoadTarget[]): void {
  for (const target of targets) {
    const instance = autocannon(
      {
        url: target.url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        connections: target.connections,
        duration: 7 * 24 * 3600, // stopped by load-end
        requests: target.requests.map((r) => ({ method: 'POST' as const, path: r.path, body: r.body })),
        timeout: 30,
      },
      () => undefined,
    );
    const done = new Promise<autocannon.Result>((resolve) => instance.on('done', resolve));
    instance.on('response', (_client, statusCode) => {
      counts.requests++;
      counts.statusCodes[statusCode] = (counts.statusCodes[statusCode] ?? 0) + 1;
      if (statusCode < 200 || statusCode >= 300) counts.non2xx++;
    });
    instance.on('reqError', (error: Error) => {
      counts.errors++;
      if (counts.errorSamples.length < 10) counts.errorSamples.push(`${target.name}: ${error.message}`);
    });
    instances.push({ instance, done });
  }
}

async function endLoad(): Promise<void> {
  for (const { instance } of instances) instance.stop();
  const results = await Promise.all(instances.map((i) => i.done));
  // Timeouts are not reported as reqError by autocannon: count them from its results.
  for (const r of results) {
    counts.errors += r.timeouts;
    if (r.timeouts > 0 && counts.errorSamples.length < 10) counts.errorSamples.push(`${r.timeouts} request timeouts`);
  }
}

function metricPoints(): { distinct: number; received: number } {
  const state = tracker.state;
  let distinct = 0;
  for (const run of state.runs.values()) distinct += new Set(run.metrics.map((m) => `${m.key}@${m.step}`)).size;
  return { distinct, received: state.metricsReceived };
}

async function handle(command: PeerCommand): Promise<Omit<PeerReply, 'id'>> {
  switch (command.cmd) {
    case 'models': {
      const v1 = buildTinyMnistModel();
      const rows = Array.from({ length: 16 }, (_, i) => digitImage(v1.test, i));
      return { models: { v1: v1.onnx, v2: buildTinyMnistModel({ seed: 2 }).onnx, rows } };
    }
    case 'tracker-stop':
      await tracker.stop();
      return {};
    case 'tracker-start':
      await tracker.start();
      return {};
    case 'load':
      startLoad(command.targets);
      return {};
    case 'stats':
      return { load: stats() };
    case 'load-end':
      await endLoad();
      return { load: stats() };
    case 'metrics':
      return { metrics: metricPoints() };
    case 'quit':
      await tracker.close();
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (message: PeerCommand & { id: number }) => {
  handle(message).then(
    (reply) => process.send?.({ id: message.id, ...reply }),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
  );
});
// The parent going away (Ctrl-C, crash) ends this process too.
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, url: tracker.url } satisfies PeerReply);
