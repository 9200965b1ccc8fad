/**
 * Protocol cases of `npm run bench`: one modelship server (bench/servers/modelship-protocols.ts, a child process)
 * answers the same MNIST MLP row over five protocols, loaded with the same number of connections in the same
 * run, taking turns in rounds so that the machine's drift lands on all alike:
 * - `/predict` (modelship's JSON) and TF Serving v1 `:predict` (`{"instances": [...]}`), by autocannon;
 * - OIP v2 JSON and OIP v2 with the binary tensor data extension (input and outputs as raw bytes), by autocannon;
 * - OIP v2 gRPC `ModelInfer` with raw contents, by bench/grpc-load.ts (grpc-js clients in a child process);
 * - and, for the details only, the same gRPC load on bench/servers/grpc-floor.ts, a grpc-js server that answers a
 *   fixed message without running a model: the transport's own ceiling (`grpcFloorVsJsonRatio`).
 * Ratios: `oip_binary_vs_json_ratio`, `grpc_vs_json_ratio` (both against OIP JSON over HTTP) and
 * `v1_vs_predict_ratio`.
 *
 * Beside requests per second, each contender's details hold the server's CPU per request (`serverCpuUs`, the
 * whole server process, model threads included; Linux only) and its load generator's (`loaderCpuUs`). A ratio
 * of requests per second compares servers only while the server is the bottleneck: the grpc-js client costs
 * several times what autocannon does per request, so on a machine whose cores are taken by other work the gRPC
 * figure is held by its generator's share of CPU. The CPU figures say which side it was.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { BenchModel } from './models.js';
import { processCpuMs } from './process-cpu.js';

interface Options {
  readonly connections: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly warmup: number;
  progress(line: string): void;
}

interface Run {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** CPU ms the server process used during the run (undefined without /proc). */
  readonly serverCpuMs: number | undefined;
  /** CPU ms the load generator used during the run. */
  readonly loaderCpuMs: number;
}

/** The server's CPU time over `run`, with the run's figures. */
async function withServerCpu(pid: number | undefined, run: () => Promise<Omit<Run, 'serverCpuMs'>>): Promise<Run> {
  const before = processCpuMs(pid);
  const r = await run();
  const after = processCpuMs(pid);
  return { ...r, serverCpuMs: before === undefined || after === undefined ? undefined : after - before };
}

/** A tsx child process that prints "READY ..." when it can take load. */
async function child(
  script: string,
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; ready: string[]; lines: Interface }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<string[]>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${script} exited with code ${code} before it was ready`)));
    lines.on('line', (line) => {
      if (line.startsWith('READY')) resolve(line.split(' ').slice(1));
    });
  });
  return { proc, ready, lines };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  await once(proc, 'exit');
}

async function cannon(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  connections: number,
  seconds: number,
): Promise<Omit<Run, 'serverCpuMs'>> {
  // autocannon runs in this process and nothing else does meanwhile: its CPU is this process's.
  const cpu = process.cpuUsage();
  const r = await autocannon({ url, method: 'POST', headers, body, connections, duration: seconds });
  const used = process.cpuUsage(cpu);
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx answers and ${r.errors} errors`);
  return {
    requestsPerSecond: r.requests.total / seconds,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    loaderCpuMs: (used.user + used.system) / 1000,
  };
}

/** The OIP binary request: the JSON header, then the input's bytes (`Inference-Header-Content-Length` says where). */
function binaryRequest(m: BenchModel): { body: Buffer; headers: Record<string, string> } {
  const bytes = Buffer.from(m.row.buffer, m.row.byteOffset, m.row.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: m.inputName,
          shape: [1, m.features],
          datatype: 'FP32',
          parameters: { binary_data_size: bytes.byteLength },
        },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    body: Buffer.concat([header, bytes]),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.byteLength),
    },
  };
}

/**
 * HTTP/2 connections the gRPC load generator spreads its calls over (8 calls in flight on each at 64): gRPC
 * clients multiplex calls on a channel, and on a busy 2-core machine 64 connections carrying one call each cost
 * both ends more CPU per call than 8 carrying 8 (the grpc-js floor server went from ~200-400 to ~400-3000 calls/s).
 */
const GRPC_CHANNELS = 8;

/**
 * A gRPC load generator (bench/grpc-load.ts) in a child process, aimed at `address`, with one function that
 * runs it for some seconds.
 */
async function grpcGenerator(
  address: string,
  m: BenchModel,
  connections: number,
): Promise<{ generator: Awaited<ReturnType<typeof child>>; run(seconds: number): Promise<Omit<Run, 'serverCpuMs'>> }> {
  const generator = await child('./grpc-load.ts', {
    GRPC_ADDRESS: address,
    MODEL_NAME: 'bench',
    INPUT_NAME: m.inputName,
    FEATURES: String(m.features),
    ROW_BASE64: Buffer.from(m.row.buffer, m.row.byteOffset, m.row.byteLength).toString('base64'),
    CONNECTIONS: String(connections),
    CHANNELS: String(GRPC_CHANNELS),
  });
  const run = async (seconds: number): Promise<Omit<Run, 'serverCpuMs'>> => {
    const answer = new Promise<string>((resolve) => generator.lines.once('line', resolve));
    generator.proc.stdin?.write(`RUN ${seconds}\n`);
    const r = JSON.parse(await answer) as {
      requests: number;
      errors: number;
      seconds: number;
      p50Ms: number;
      p99Ms: number;
      cpuMs: number;
    };
    if (r.errors > 0) throw new Error(`gRPC (${address}): ${r.errors} failed calls under load`);
    return {
      requestsPerSecond: r.requests / r.seconds,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      requests: r.requests,
      loaderCpuMs: r.cpuMs,
    };
  };
  return { generator, run };
}

/** Runs the six contenders in rounds; returns the three ratios and the figures behind them. */
export async function protocolCases(
  m: BenchModel,
  o: Options,
): Promise<{ results: Record<string, number>; details: Record<string, unknown> }> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-bench-'));
  const modelPath = join(dir, `${m.name}.onnx`);
  await writeFile(modelPath, m.onnx);
  const server = await child('./servers/modelship-protocols.ts', { MODEL_PATH: modelPath });
  const [httpPort, grpcPort] = server.ready;
  const base = `http://127.0.0.1:${httpPort}`;
  const row = Array.from(m.row);
  const json = { 'content-type': 'application/json' };
  const oipJson = JSON.stringify({
    inputs: [{ name: m.inputName, shape: [1, m.features], datatype: 'FP32', data: row }],
  });
  const binary = binaryRequest(m);
  const pid = server.proc.pid;
  const generators: Array<Awaited<ReturnType<typeof grpcGenerator>>> = [];
  let floor: Awaited<ReturnType<typeof child>> | undefined;
  const runs: Record<string, Run[]> = {};
  let contenders: Record<string, (seconds: number) => Promise<Run>> = {};
  try {
    floor = await child('./servers/grpc-floor.ts', {});
    const floorPid = floor.proc.pid;
    const [grpcLoad, floorLoad] = [
      await grpcGenerator(`127.0.0.1:${grpcPort}`, m, o.connections),
      await grpcGenerator(`127.0.0.1:${floor.ready[0]}`, m, o.connections),
    ];
    generators.push(grpcLoad, floorLoad);
    contenders = {
      predict: (s) =>
        withServerCpu(pid, () => cannon(`${base}/predict`, JSON.stringify({ inputs: [row] }), json, o.connections, s)),
      v1: (s) =>
        withServerCpu(pid, () =>
          cannon(`${base}/v1/models/bench:predict`, JSON.stringify({ instances: [row] }), json, o.connections, s),
        ),
      'oip-json': (s) =>
        withServerCpu(pid, () => cannon(`${base}/v2/models/bench/infer`, oipJson, json, o.connections, s)),
      'oip-binary': (s) =>
        withServerCpu(pid, () =>
          cannon(`${base}/v2/models/bench/infer`, binary.body, binary.headers, o.connections, s),
        ),
      grpc: (s) => withServerCpu(pid, () => grpcLoad.run(s)),
      // Not a ratio: the transport alone (a grpc-js server answering a fixed message, no model), for the details.
      'grpc-floor': (s) => withServerCpu(floorPid, () => floorLoad.run(s)),
    };
    for (const name of Object.keys(contenders)) runs[name] = [];
    for (const run of Object.values(contenders)) await run(o.warmup);
    for (let round = 0; round < o.rounds; round++) {
      for (const [name, run] of Object.entries(contenders)) runs[name]?.push(await run(o.seconds / o.rounds));
      o.progress(
        `protocols round ${round + 1}/${o.rounds}: ${Object.keys(contenders)
          .map((n) => `${n} ${Math.round(runs[n]?.at(-1)?.requestsPerSecond ?? 0)}`)
          .join(', ')} req/s`,
      );
    }
  } finally {
    for (const g of generators) {
      g.generator.proc.stdin?.write('EXIT\n');
      await once(g.generator.proc, 'exit');
    }
    if (floor) await stop(floor.proc);
    await stop(server.proc);
  }
  const mean = (name: string): number => {
    const rs = runs[name] as Run[];
    return rs.reduce((n, r) => n + r.requestsPerSecond, 0) / rs.length;
  };
  /** CPU µs per request over all rounds (total CPU / total requests), rounded. */
  const perRequest = (rs: readonly Run[], cpu: (r: Run) => number | undefined): number | undefined => {
    const requests = rs.reduce((n, r) => n + r.requests, 0);
    const ms = rs.map(cpu);
    if (requests === 0 || ms.some((v) => v === undefined)) return undefined;
    return Math.round(((ms as number[]).reduce((a, b) => a + b, 0) * 1000) / requests);
  };
  const measured = Object.fromEntries(
    Object.keys(contenders).map((n) => {
      const rs = runs[n] as Run[];
      return [
        n,
        {
          requestsPerSecond: mean(n),
          p99Ms: Math.max(...rs.map((r) => r.p99Ms)),
          perRound: rs.map((r) => Math.round(r.requestsPerSecond)),
          serverCpuUs: perRequest(rs, (r) => r.serverCpuMs),
          loaderCpuUs: perRequest(rs, (r) => r.loaderCpuMs),
        },
      ];
    }),
  );
  for (const [n, r] of Object.entries(measured)) {
    const cpu = r.serverCpuUs === undefined ? '' : `, server CPU ${r.serverCpuUs} µs/req`;
    o.progress(
      `${n}: ${Math.round(r.requestsPerSecond)} req/s, p99 ${r.p99Ms.toFixed(1)} ms${cpu}, load generator CPU ${r.loaderCpuUs} µs/req`,
    );
  }
  return {
    results: {
      oip_binary_vs_json_ratio: mean('oip-binary') / mean('oip-json'),
      grpc_vs_json_ratio: mean('grpc') / mean('oip-json'),
      v1_vs_predict_ratio: mean('v1') / mean('predict'),
    },
    details: {
      model: m.name,
      connections: o.connections,
      seconds: o.seconds,
      rounds: o.rounds,
      // The most grpc_vs_json_ratio could be on this machine with a server on grpc-js: its transport alone.
      grpcFloorVsJsonRatio: mean('grpc-floor') / mean('oip-json'),
      grpcChannels: GRPC_CHANNELS,
      ...measured,
    },
  };
}
