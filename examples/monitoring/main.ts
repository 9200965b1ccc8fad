/**
 * `npm run demo:monitoring`: model monitoring on real MNIST digits, over a real HTTP server, in well under a
 * minute.
 *
 * 1. Train a digit classifier, build its drift baseline from the training split, and publish it with the
 *    baseline to a local registry as `production`. Publish a broken `candidate`: the same weights with the
 *    classes permuted (it answers every request, quickly, and almost always wrongly).
 * 2. Drift: serve `production` alone; send the test split (no drift), then brighter digits and digits with
 *    permuted pixels; print what drifted.
 * 3. Live accuracy: deploy `candidate` as a 30 % canary with `minLiveAccuracy`; send the test split with an
 *    `x-request-id` each, then the true labels through `POST /v2/models/mnist/feedback`, later and in batches.
 *    The canary is rolled back on its live accuracy while its error rate is 0. Print the table.
 *
 * Writes under MODELSHIP_MONITORING_DIR (default ./monitoring-demo). Runs from the sources (tsx resolves
 * `modelship` through tsconfig.json's paths): no build first.
 */
import '../demo/package-version.js'; // first: modelship reads its version when it loads
import { join, resolve } from 'node:path';
import {
  createBaseline,
  createDeployment,
  createHandler,
  createLocalRegistry,
  loadModel,
  silentLogger,
  type DeploymentEvents,
  type DriftReport,
  type Model,
} from 'modelship';
import { serve } from 'modelship/node';
import { buildMnistModel } from '../shared/demo-model.js';
import { createRng, digitImage, IMAGE_SIZE, loadMnist, shuffle } from '../shared/mnist-data.js';
import { writeMlpClassifier } from '../shared/onnx-writer.js';
import { table } from './table.js';

const dir = resolve(process.env.MODELSHIP_MONITORING_DIR ?? 'monitoring-demo');
const log = (line: string): void => console.log(line);

/** The trained weights with output j taking what output j+1 had: same signature, wrong answers. */
function permutedClasses(layers: ReturnType<typeof buildMnistModel>['layers']): Uint8Array {
  const last = layers[layers.length - 1]!;
  const weights = new Float32Array(last.weights.length);
  const bias = new Float32Array(last.outputs);
  for (let i = 0; i < last.inputs; i++)
    for (let j = 0; j < last.outputs; j++)
      weights[i * last.outputs + j] = last.weights[i * last.outputs + ((j + 1) % last.outputs)]!;
  for (let j = 0; j < last.outputs; j++) bias[j] = last.bias[(j + 1) % last.outputs]!;
  return writeMlpClassifier({ layers: [...layers.slice(0, -1), { ...last, weights, bias }], inputName: 'pixels' });
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as unknown;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

function driftRow(phase: string, r: DriftReport | undefined): string[] {
  if (r === undefined) return [phase, '0', '—', '—', '—', '—', '—'];
  const f = (name: string): string => {
    const d = r.features.find((x) => x.feature === name);
    if (d === undefined) return '—';
    const value = d.kind === 'numeric' ? `PSI ${d.psi.toFixed(2)}` : `JS ${d.js.toFixed(2)}`;
    return d.drifted ? `${value} drifted` : value;
  };
  const pixels = r.features.filter((x) => x.drifted && /^pixels\[/.test(x.feature)).length;
  return [
    phase,
    String(r.rows),
    `${r.drifted} of ${r.total}`,
    `${pixels} of 784`,
    f('pixels.mean'),
    f('pixels.proj0'),
    f('probabilities.class'),
  ];
}

async function main(): Promise<void> {
  const registry = createLocalRegistry({ root: join(dir, 'models') });
  log('Training an MNIST classifier on real digits…');
  const trained = buildMnistModel({ epochs: 2 });
  const { train, test } = loadMnist({ seed: 1 });
  log(`  test accuracy ${(trained.accuracy * 100).toFixed(1)} % on ${test.count} held-out digits`);

  // 1. The baseline: 4000 training digits and the model's answers to them.
  const scratch = await loadModel(trained.onnx, { name: 'mnist', logger: silentLogger });
  const rows = 4000;
  const pixels = {
    dtype: 'float32' as const,
    shape: [rows, IMAGE_SIZE],
    data: train.images.slice(0, rows * IMAGE_SIZE),
  };
  const baseline = createBaseline(
    { inputs: { pixels }, outputs: await scratch.predict({ pixels }) },
    {
      signature: scratch.signature,
    },
  );
  await scratch.close();
  const good = await registry.publish({ name: 'mnist', bytes: trained.onnx, aliases: ['production'], baseline });
  const bad = await registry.publish({
    name: 'mnist',
    bytes: permutedClasses(trained.layers),
    aliases: ['candidate'],
    baseline,
  });
  log(
    `Published mnist/${good.version} (production) and mnist/${bad.version} (candidate: classes permuted), each with a baseline of ${baseline.rows} digits and ${baseline.numeric.length + baseline.categorical.length} features.`,
  );

  // 2. Drift, on production alone, served as "mnist-solo".
  const solo: Model = await loadModel('mnist@production', {
    registry,
    name: 'mnist-solo',
    logger: silentLogger,
    monitoring: { sampleRate: 1, maxSamplesPerSecond: 100_000, interval: 0, maxSamples: 1_000_000 },
  });
  // 3. The canary, judged on live accuracy from labels.
  const deployment = await createDeployment({
    name: 'mnist',
    stable: 'mnist@production',
    canary: { ref: 'mnist@candidate', weight: 0.3 },
    registry,
    logger: silentLogger,
    modelOptions: { monitoring: { sampleRate: 0 } },
    guardrails: { minRequests: 100, minLiveAccuracy: 0.8, maxErrorRate: 0.02, interval: '250ms' },
  });
  const server = await serve(createHandler({ models: [solo, deployment], logger: silentLogger }), {
    port: Number(process.env.PORT ?? 0),
    host: '127.0.0.1',
  });
  log(`Serving on ${server.url}`);
  try {
    const send = async (name: string, count: number, image: (i: number) => number[], id?: (i: number) => string) => {
      for (let start = 0; start < count; start += 8)
        await Promise.all(
          Array.from({ length: Math.min(8, count - start) }, (_, k) =>
            post(
              `${server.url}/models/${name}/predict`,
              { inputs: [image(start + k)] },
              id ? { 'x-request-id': id(start + k) } : {},
            ),
          ),
        );
    };
    const N = 400;
    const order = shuffle(
      Array.from({ length: IMAGE_SIZE }, (_, j) => j),
      createRng(7),
    );
    const phases: [string, (i: number) => number[]][] = [
      ['test split', (i) => digitImage(test, i)],
      ['brighter (+0.3)', (i) => digitImage(test, i).map((v) => Math.min(1, v + 0.3))],
      ['permuted pixels', (i) => order.map((j) => digitImage(test, i)[j]!)],
    ];
    const drift: string[][] = [
      ['traffic', 'rows', 'features drifted', 'pixels drifted', 'row mean', 'projection 0', 'answers (classes)'],
    ];
    for (const [phase, image] of phases) {
      await send('mnist-solo', N, image);
      drift.push(driftRow(phase, solo.monitoring?.evaluate()));
    }
    log(`\nDrift against the training baseline (${N} requests each; PSI > 0.2 or JS > 0.1 counts):\n${table(drift)}`);

    const rollback = new Promise<DeploymentEvents['guardrail']>((done) => deployment.on('guardrail', done));
    await send(
      'mnist',
      test.count,
      (i) => digitImage(test, i),
      (i) => `digit-${i}`,
    );
    const before = deployment.status();
    log(
      `\nSent ${test.count} test digits to the deployment with x-request-id; canary error rate ${(before.canary?.stats.errorRate ?? 0) * 100} %.`,
    );
    // Labels arrive later, in batches of 500.
    const counts: Record<string, number> = {};
    for (let start = 0; start < test.count; start += 500) {
      const feedback = Array.from({ length: Math.min(500, test.count - start) }, (_, k) => ({
        id: `digit-${start + k}`,
        label: test.labels[start + k]!,
      }));
      const answer = (await post(`${server.url}/v2/models/mnist/feedback`, { feedback })) as {
        counts: Record<string, number>;
      };
      for (const [k, v] of Object.entries(answer.counts)) counts[k] = (counts[k] ?? 0) + v;
    }
    log(`Labels sent through POST /v2/models/mnist/feedback: ${JSON.stringify(counts)}`);
    const event = await rollback;
    const status = deployment.status();
    log(
      `\n${table([
        ['version', 'role', 'requests', 'error rate', 'live accuracy', 'decision'],
        [
          good.version,
          'stable',
          String(status.stable.stats.requests),
          `${(status.stable.stats.errorRate * 100).toFixed(1)} %`,
          '—',
          'keeps serving',
        ],
        [
          event.version,
          'canary',
          String(event.stats.requests),
          `${(event.stats.errorRate * 100).toFixed(1)} %`,
          `${(event.breach.value * 100).toFixed(1)} %`,
          `rolled back (${event.breach.rule} < ${event.breach.threshold}), weight now ${status.canary?.weight ?? 0}`,
        ],
      ])}`,
    );
  } finally {
    await server.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
