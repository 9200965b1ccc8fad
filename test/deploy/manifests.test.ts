/**
 * deploy/kubernetes (kustomize base and overlays) and deploy/kserve, validated as a cluster would: every object
 * rendered by `kubectl kustomize` (Debian's kubernetes-client) and checked against its schema (kubernetes-models,
 * @kubernetes-models/keda, @kubernetes-models/prometheus-operator; KServe's from ./kserve-schema.ts), the objects
 * checked against each other (selectors, ports, names), and the ports, probe paths and metric names checked
 * against what the server really exposes: the rendered config is served by the built `modelship` command.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { call, postJson } from '../helpers/http.js';
import { freePort, type RunningProcess } from '../helpers/process.js';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { digits } from '../helpers/deployments.js';
import { runCli, startCli } from '../cli/cli.js';
import { clusterServingRuntimeSchema, deploymentMode, inferenceServiceSchema } from './kserve-schema.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const KUSTOMIZATIONS = ['base', 'overlays/production', 'overlays/fleet-mlflow'];

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};

/** kubernetes-models' class for an object: core under `kubernetes-models/v1`, groups under their name, CRDs from their package. */
async function modelClass(o: Obj): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const path =
    group === 'keda.sh'
      ? `@kubernetes-models/keda/keda.sh/${version}/${o.kind}`
      : group === 'monitoring.coreos.com'
        ? `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${o.kind}`
        : `kubernetes-models/${group === '' ? '' : `${group}/`}${version}/${o.kind}`;
  const mod = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>;
  const cls = mod[o.kind];
  if (cls === undefined) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  return cls;
}

async function render(dir: string): Promise<Obj[]> {
  const { stdout } = await run(process.env.KUBECTL ?? 'kubectl', ['kustomize', join(root, 'deploy/kubernetes', dir)]);
  // kustomize v2 (Debian's kubectl 1.20) ends with an empty document.
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const find = (objs: Obj[], kind: string): Obj => {
  const o = objs.find((x) => x.kind === kind);
  if (o === undefined) throw new Error(`no ${kind}`);
  return o;
};

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Bytes in a Kubernetes memory quantity such as `512Mi` or `1Gi`. */
const mebibytes = (q: string): number => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`unexpected memory quantity ${q}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1) * 1024 * 1024;
};

const rendered = new Map<string, Obj[]>();

beforeAll(async () => {
  for (const k of KUSTOMIZATIONS) rendered.set(k, await render(k));
});

describe.each(KUSTOMIZATIONS)('deploy/kubernetes/%s', (dir) => {
  it('renders objects that each pass their schema', async () => {
    const objs = rendered.get(dir)!;
    expect(objs.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'Deployment',
        'Service',
        'PodDisruptionBudget',
        'ScaledObject',
        'ServiceMonitor',
        'ConfigMap',
      ]),
    );
    for (const o of objs) {
      const Model = await modelClass(o);
      expect(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
  });

  it('fails validation when an object is broken, so the check above can fail', async () => {
    const deployment = structuredClone(find(rendered.get(dir)!, 'Deployment'));
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    const Model = await modelClass(deployment);
    expect(() => new Model(deployment).validate()).toThrow();
    const scaled = structuredClone(find(rendered.get(dir)!, 'ScaledObject'));
    scaled.spec.triggers = 'prometheus';
    const Scaled = await modelClass(scaled);
    expect(() => new Scaled(scaled).validate()).toThrow();
  });

  it('holds together: selectors, ports, names, the config, the drain and the image user', async () => {
    const objs = rendered.get(dir)!;
    const deployment = find(objs, 'Deployment');
    const pod = deployment.spec.template;
    const container = pod.spec.containers[0];
    expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    const service = find(objs, 'Service');
    expect(matches(service.spec.selector, pod.metadata.labels)).toBe(true);
    expect(matches(find(objs, 'PodDisruptionBudget').spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    const monitor = find(objs, 'ServiceMonitor');
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(monitor.spec.endpoints[0].port);
    expect(find(objs, 'ScaledObject').spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    const volume = pod.spec.volumes.find((v: { name: string }) => v.name === 'config');
    const configMap = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name);
    expect(configMap, 'the config volume names a rendered ConfigMap').toBeDefined();
    // The base leaves the models volume's claim to its overlays (storage is the cluster's choice).
    for (const v of pod.spec.volumes.filter((x: { persistentVolumeClaim?: unknown }) => x.persistentVolumeClaim))
      if (dir !== 'base')
        expect(
          objs.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === v.persistentVolumeClaim.claimName),
        ).toBe(true);
    const config = parse(configMap!.data!['modelship.yaml'] as string) as { server: Record<string, number> };
    const port = (name: string): number => container.ports.find((p: { name: string }) => p.name === name).containerPort;
    expect(port('http')).toBe(config.server.port);
    expect(port('grpc')).toBe(config.server.grpcPort);
    for (const p of service.spec.ports) expect(['http', 'grpc']).toContain(p.targetPort);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    // The pod is given the preStop pause plus the server's drain before it is killed.
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      preStop + (config.server.shutdownTimeoutMs as number) / 1000,
    );
    // The Dockerfile's user and its writable volumes on a read-only root filesystem.
    const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
    expect(`${pod.spec.securityContext.runAsUser}:${pod.spec.securityContext.runAsGroup}`).toBe(
      /^USER (\S+)$/m.exec(dockerfile)?.[1],
    );
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    const mounts = container.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    for (const env of ['MODELSHIP_CACHE_DIR', 'MODELSHIP_SPOOL_DIR']) {
      const path = new RegExp(`${env}=(\\S+)`).exec(dockerfile)?.[1] as string;
      expect(mounts.some((m: string) => path.startsWith(m))).toBe(true);
    }
  });

  it('ships a config the modelship command accepts', async () => {
    const configMap = rendered.get(dir)!.find((o) => o.kind === 'ConfigMap' && o.data?.['modelship.yaml'])!;
    const file = join(await tempDir('modelship-k8s-config-'), 'modelship.yaml');
    await writeFile(file, configMap.data!['modelship.yaml']!);
    const result = await runCli(['config', 'check', file], { env: { MLFLOW_TRACKING_URI: 'http://127.0.0.1:1' } });
    expect(result.stderr + result.stdout).not.toMatch(/unknown key|error/i);
    expect(result.code).toBe(0);
  });
});

describe('deploy/kserve', () => {
  let runtimes: ReturnType<typeof clusterServingRuntimeSchema.parse>[];
  let services: ReturnType<typeof inferenceServiceSchema.parse>[];

  beforeAll(async () => {
    const docs = async (f: string): Promise<unknown[]> =>
      parseAllDocuments(await readFile(join(root, 'deploy/kserve', f), 'utf8')).map((d) => d.toJS() as unknown);
    runtimes = (await docs('cluster-serving-runtime.yaml')).map((d) => clusterServingRuntimeSchema.parse(d));
    services = [
      ...(await docs('inference-service-serverless.yaml')),
      ...(await docs('inference-service-standard.yaml')),
    ].map((d) => inferenceServiceSchema.parse(d));
  });

  it('has runtimes for onnx over v2 and grpc-v2 whose containers pass the Container schema', async () => {
    const { Container } = await import('kubernetes-models/v1/Container');
    expect(runtimes.flatMap((r) => r.spec.protocolVersions)).toEqual(expect.arrayContaining(['v2', 'grpc-v2']));
    for (const r of runtimes) {
      expect(r.spec.supportedModelFormats.map((f) => f.name)).toContain('onnx');
      const [c] = r.spec.containers;
      expect(() => new Container(c as never).validate()).not.toThrow();
      expect((c as { name: string }).name).toBe('kserve-container');
      expect((c as { args: string[] }).args.slice(0, 2)).toEqual(['serve', '/mnt/models/model.onnx']);
    }
  });

  it('refuses what KServe would refuse: a percentage over 100, an unknown field, an unknown protocol', () => {
    const isvc = structuredClone(services[0]!) as any;
    isvc.spec.predictor.canaryTrafficPercent = 150;
    expect(inferenceServiceSchema.safeParse(isvc).success).toBe(false);
    const misspelt = structuredClone(services[0]!) as any;
    misspelt.spec.predictor.model.storageURI = misspelt.spec.predictor.model.storageUri;
    expect(inferenceServiceSchema.safeParse(misspelt).success).toBe(false);
    const runtime = structuredClone(runtimes[0]!) as any;
    runtime.spec.protocolVersions = ['v3'];
    expect(clusterServingRuntimeSchema.safeParse(runtime).success).toBe(false);
  });

  it('has InferenceServices that find their runtime: v2, onnx, one port in Serverless mode, canary only there', () => {
    expect(services.map(deploymentMode).sort()).toEqual(['Serverless', 'Standard']);
    for (const isvc of services) {
      const model = isvc.spec.predictor.model;
      expect(model.protocolVersion).toBe('v2');
      const runtime = runtimes.find((r) => r.metadata.name === model.runtime);
      expect(runtime).toBeDefined();
      expect(runtime!.spec.protocolVersions).toContain(model.protocolVersion);
      expect(runtime!.spec.supportedModelFormats.map((f) => f.name)).toContain(model.modelFormat.name);
      const ports = (runtime!.spec.containers[0] as { ports: unknown[] }).ports;
      if (deploymentMode(isvc) === 'Serverless') expect(ports).toHaveLength(1);
      else expect(isvc.spec.predictor.canaryTrafficPercent).toBeUndefined();
    }
    expect(services.some((s) => s.spec.predictor.canaryTrafficPercent === 10)).toBe(true);
  });

  it('has a Standard-mode canary as spec.canary[] whose model finds the same runtime as stable', () => {
    const standard = services.find((s) => deploymentMode(s) === 'Standard')!;
    const [canary] = standard.spec.canary!;
    expect(canary!.trafficPercent).toBe(10);
    expect(canary!.predictor.model).toEqual({
      ...standard.spec.predictor.model,
      storageUri: canary!.predictor.model.storageUri,
    });
    expect(canary!.predictor.model.storageUri).not.toBe(standard.spec.predictor.model.storageUri);
    expect(services.find((s) => deploymentMode(s) === 'Serverless')!.spec.canary).toBeUndefined();
  });

  it("refuses canaries KServe v0.20's webhook refuses: Serverless mode, duplicate names, over 100 %, autoscaling", () => {
    const standard = services.find((s) => deploymentMode(s) === 'Standard')!;
    const variant = (change: (isvc: any) => void): boolean => {
      const isvc = structuredClone(standard) as any;
      change(isvc);
      return inferenceServiceSchema.safeParse(isvc).success;
    };
    expect(variant(() => undefined)).toBe(true);
    expect(variant((i) => (i.metadata.annotations['serving.kserve.io/deploymentMode'] = 'Serverless'))).toBe(false);
    expect(variant((i) => i.spec.canary.push(structuredClone(i.spec.canary[0])))).toBe(false);
    expect(variant((i) => i.spec.canary.push({ ...structuredClone(i.spec.canary[0]), trafficPercent: 95 }))).toBe(
      false,
    );
    expect(variant((i) => (i.spec.canary[0].predictor.maxReplicas = 3))).toBe(false);
    expect(variant((i) => delete i.spec.canary[0].predictor.name)).toBe(false);
    expect(variant((i) => (i.spec.canary[0].trafficPercent = 101))).toBe(false);
  });
});

describe('what the server really exposes', () => {
  let dir: string;
  const servers: RunningProcess[] = [];
  const model = async (): Promise<string> => {
    const path = join(dir, 'model.onnx');
    await writeFile(path, tinyMnist().onnx);
    return path;
  };

  beforeAll(async () => {
    dir = await tempDir('modelship-k8s-serve-');
  });
  afterAll(async () => Promise.all(servers.map((s) => s.stop())));

  it('answers the probes, the gRPC port and the metrics the manifests name, with the base config', async () => {
    const objs = rendered.get('base')!;
    const config = parse(find(objs, 'ConfigMap').data!['modelship.yaml']!) as any;
    // The container's ports and /mnt/models, as the pod would see them, on this machine.
    const [http, grpc] = [await freePort(), await freePort()];
    config.models.mnist.ref = await model();
    config.server = { ...config.server, port: http, grpcPort: grpc, host: '127.0.0.1' };
    const file = join(dir, 'modelship.yaml');
    await writeFile(file, stringify(config));
    const server = await startCli(['serve', '--config', file], { cwd: dir, ready: /listening on/ });
    servers.push(server);
    const url = `http://127.0.0.1:${http}`;
    const container = find(objs, 'Deployment').spec.template.spec.containers[0];
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe])
      expect((await call(`${url}${probe.httpGet.path}`)).status).toBe(200);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(grpc, '127.0.0.1', () => (socket.end(), resolve()));
      socket.once('error', reject);
    });
    const { images } = digits(2);
    expect((await postJson(`${url}/models/mnist/predict`, { inputs: { pixels: images } })).status).toBe(200);
    // Resources derived from `modelship bench` (docs/operations.md): a CPU for each worker, and the replica's
    // memory under 32 requests in flight within the limit (Linux: the server's peak RSS from /proc).
    expect(Number(container.resources.requests.cpu)).toBeGreaterThanOrEqual(config.models.mnist.workers);
    const statuses = await Promise.all(
      Array.from({ length: 32 }, async () => {
        const codes: number[] = [];
        for (let i = 0; i < 10; i++)
          codes.push((await postJson(`${url}/models/mnist/predict`, { inputs: { pixels: images } })).status);
        return codes;
      }),
    );
    expect(statuses.flat().filter((c) => c !== 200)).toEqual([]);
    const status = `/proc/${server.child.pid}/status`;
    if (existsSync(status)) {
      const peakKiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(status, 'utf8'))?.[1]);
      expect(peakKiB * 1024).toBeLessThan(mebibytes(container.resources.limits.memory));
    }
    const metrics = await (await fetch(`${url}${find(objs, 'ServiceMonitor').spec.endpoints[0].path}`)).text();
    const named = find(objs, 'ScaledObject').spec.triggers.flatMap((t: { metadata: { query: string } }) =>
      [...t.metadata.query.matchAll(/modelship_[a-z_]+/g)].map((m) => m[0]),
    );
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) expect(metrics, name).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
  });

  it('serves the model KServe puts in /mnt/models under the InferenceService name, with the runtime args', async () => {
    const runtime = parseAllDocuments(
      await readFile(join(root, 'deploy/kserve/cluster-serving-runtime.yaml'), 'utf8'),
    )[0]!.toJS() as any;
    const container = runtime.spec.containers[0];
    const http = await freePort();
    const grpc = await freePort();
    const path = await model();
    const args = (container.args as string[]).map((a) =>
      a === '/mnt/models/model.onnx'
        ? path
        : a === '{{.Name}}'
          ? 'mnist'
          : a === '8080'
            ? String(http)
            : a === '9000'
              ? String(grpc)
              : a,
    );
    const server = await startCli([...args, '--host', '127.0.0.1'], { cwd: dir, ready: /listening on/ });
    servers.push(server);
    const url = `http://127.0.0.1:${http}`;
    expect((await call(`${url}${container.readinessProbe.httpGet.path}`)).status).toBe(200);
    expect((await call(`${url}/v2/models/mnist/ready`)).status).toBe(200);
    const { images } = digits(1);
    const infer = await postJson(`${url}/v2/models/mnist/infer`, {
      inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FP32', data: images[0] }],
    });
    expect(infer.status).toBe(200);
  });
});
