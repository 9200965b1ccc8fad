/**
 * The gRPC load generator of `npm run bench`, in its own process like autocannon's work is kept off the
 * server's: CONNECTIONS calls in flight at all times (each loop sends its next call when the last is answered,
 * as each of autocannon's connections does), spread over CHANNELS grpc-js clients, each on its own HTTP/2
 * connection, so CONNECTIONS / CHANNELS calls share a connection as HTTP/2 streams. They send OIP v2
 * `ModelInfer` with `raw_input_contents` (what Triton's and KServe's clients send), serialized once from the
 * `.proto` modelship ships, and do not decode the answers. Fewer connections than calls is how gRPC clients
 * work (tritonclient and KServe's client put every call on one channel), and it is cheaper on both ends than a
 * connection per call: node's HTTP/2 writes several streams' frames in one go.
 *
 * Protocol on stdin/stdout: prints "READY" once every client has answered one call; then each line
 * "RUN <seconds>" runs the load that long and prints one JSON line
 * `{ requests, errors, seconds, p50Ms, p99Ms, cpuMs }` (cpuMs: this process's CPU time during the run); "EXIT" ends it.
 * Environment: GRPC_ADDRESS (host:port), MODEL_NAME, INPUT_NAME, FEATURES, ROW_BASE64 (float32 LE bytes), CONNECTIONS,
 * CHANNELS (default CONNECTIONS: one call per connection).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { percentile } from './measure.js';

const env = process.env as Record<string, string>;
const proto = fileURLToPath(new URL('../src/http/grpc/proto/grpc_predict_v2.proto', import.meta.url));
const definition = protoLoader.loadSync(proto, { keepCase: true, longs: Number, enums: String, arrays: true });
const { inference } = grpc.loadPackageDefinition(definition) as unknown as {
  inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
};

const connections = Number(env.CONNECTIONS);
const channels = Math.max(1, Math.min(connections, Number(env.CHANNELS ?? connections)));
const method = inference.GRPCInferenceService.service.ModelInfer as grpc.MethodDefinition<object, Buffer>;
// The request is the same every time, so it is serialized once and the answers are not decoded: like autocannon's
// fixed body, the generator's own cost stays small beside the server's.
const request = method.requestSerialize({
  model_name: env.MODEL_NAME,
  inputs: [{ name: env.INPUT_NAME, datatype: 'FP32', shape: [1, Number(env.FEATURES)] }],
  raw_input_contents: [Buffer.from(env.ROW_BASE64 as string, 'base64')],
});
const same = (b: Buffer): Buffer => b;
// A local subchannel pool per client: each gets its own HTTP/2 connection (grpc-js would share one otherwise).
const clients = Array.from(
  { length: channels },
  () =>
    new grpc.Client(env.GRPC_ADDRESS as string, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.enable_retries': 0,
      'grpc.enable_channelz': 0, // no per-call channelz counters, as on the server
    }),
);
const infer = (client: grpc.Client): Promise<void> =>
  new Promise((resolve, reject) =>
    client.makeUnaryRequest(method.path, same, same, request, (error) => (error ? reject(error) : resolve())),
  );

async function run(
  seconds: number,
): Promise<{ requests: number; errors: number; seconds: number; p50Ms: number; p99Ms: number; cpuMs: number }> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, (_, i) => clients[i % channels] as grpc.Client).map(async (client) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await infer(client);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    seconds: elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuMs: (used.user + used.system) / 1000,
  };
}

await Promise.all(clients.map(infer));
console.log('READY');
for await (const line of createInterface({ input: process.stdin })) {
  const m = /^RUN ([\d.]+)$/.exec(line);
  if (m) console.log(JSON.stringify(await run(Number(m[1]))));
  else if (line === 'EXIT') break;
}
for (const c of clients) c.close();
process.exit(0);
