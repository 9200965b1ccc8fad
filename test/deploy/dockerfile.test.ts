/**
 * The container image without a container engine (none runs here): the Dockerfile and .dockerignore are parsed
 * with dockerfile-ast and held to the rules below, and the image's exact command line is run as the container
 * would run it: its ENV, WORKDIR and USER, the app as a read-only copy, the config, models, cache and spool
 * mounted at the container's paths (translated to temporary directories), then SIGTERM.
 *
 * Rules:
 *  1. Multi-stage; every base image pinned to an exact Node 20 release tag or a digest (no `latest`, no bare `20`).
 *  2. The runtime stage runs as a numeric non-root user (Kubernetes' runAsNonRoot can only check a number).
 *  3. CMD in exec form: ["modelship", "serve", "--config", "/etc/modelship/modelship.yaml"]; no ENTRYPOINT.
 *  4. STOPSIGNAL SIGTERM; a HEALTHCHECK in exec form on /healthz.
 *  5. No secrets in layers: no ENV/ARG named like a credential, no ADD (remote URLs, archives), no COPY of a
 *     dot-file, and .dockerignore denies everything (`**`) but the files the build copies.
 *  6. Production dependencies by `npm ci --omit=dev` from a lock; `npm install` nowhere.
 *  7. A read-only root filesystem works: the cache and spool paths come from ENV and are VOLUMEs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Dockerfile, type From, type JSONInstruction } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, postJson } from '../helpers/http.js';
import { freePort } from '../helpers/process.js';
import { slowModel, tempDir, tinyMnist } from '../helpers/models.js';
import { digits } from '../helpers/deployments.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string): Promise<string> => readFile(join(root, p), 'utf8');
const CREDENTIAL = /TOKEN|PASSWORD|SECRET|API_?KEY|CREDENTIAL|PRIVATE/i;

let dockerfile: Dockerfile;
let ignore: string[];

/** The stages: FROM and the instructions up to the next FROM. */
function stages(
  df: Dockerfile,
): { from: From; name: string | undefined; keywords: { keyword: string; text: string }[] }[] {
  const out: ReturnType<typeof stages> = [];
  for (const instruction of df.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const from = instruction as From;
      out.push({ from, name: from.getBuildStage() ?? undefined, keywords: [] });
    } else out.at(-1)?.keywords.push({ keyword, text: instruction.getArgumentsContent() ?? '' });
  }
  return out;
}

function jsonArgs(instruction: JSONInstruction): string[] {
  return instruction.getJSONStrings().map((s) => s.getJSONValue());
}

/** HEALTHCHECK's command: the JSON array after its flags and `CMD`. */
function healthcheckCommand(df: Dockerfile): string[] {
  const text = (df.getHEALTHCHECKs()[0]?.getArgumentsContent() ?? '').replace(/\\\r?\n/g, ' ');
  return JSON.parse(text.slice(text.indexOf('CMD') + 3)) as string[];
}

beforeAll(async () => {
  dockerfile = DockerfileParser.parse(await read('Dockerfile'));
  ignore = (await read('.dockerignore')).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
});

describe('the Dockerfile', () => {
  it('is multi-stage on an exact Node 20 slim release or a digest (rule 1)', () => {
    const args = new Map(
      dockerfile.getInitialARGs().flatMap((a) => a.getProperties().map((p) => [p.getName(), p.getValue()])),
    );
    const all = stages(dockerfile);
    expect(all.length).toBeGreaterThanOrEqual(2);
    const names = new Set<string>();
    for (const { from, name } of all) {
      const image = (from.getImage() as string).replace(/^\$\{?(\w+)\}?$/, (_, v: string) => args.get(v) ?? '');
      if (!names.has(image))
        expect(image).toMatch(/^node:20\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$/);
      if (name) names.add(name);
    }
    expect(all.at(-1)?.name).toBe('runtime');
  });

  it('runs as a numeric non-root user, with the serve command in exec form (rules 2, 3)', () => {
    const runtime = stages(dockerfile).at(-1)!;
    const users = runtime.keywords.filter((k) => k.keyword === 'USER').map((k) => k.text);
    expect(users.at(-1)).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    const cmds = dockerfile.getCMDs();
    expect(cmds).toHaveLength(1);
    expect(jsonArgs(cmds[0] as unknown as JSONInstruction)).toEqual([
      'modelship',
      'serve',
      '--config',
      '/etc/modelship/modelship.yaml',
    ]);
    expect(dockerfile.getENTRYPOINTs()).toEqual([]);
  });

  it('stops on SIGTERM and checks its health on /healthz (rule 4)', () => {
    const runtime = stages(dockerfile).at(-1)!;
    expect(runtime.keywords.filter((k) => k.keyword === 'STOPSIGNAL').map((k) => k.text)).toEqual(['SIGTERM']);
    const command = healthcheckCommand(dockerfile);
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain('/healthz');
  });

  it('puts no secret in a layer, and the context holds only what is copied (rule 5)', async () => {
    const names = [
      ...dockerfile.getENVs().flatMap((e) => e.getProperties().map((p) => p.getName())),
      ...dockerfile.getARGs().flatMap((a) => a.getProperties().map((p) => p.getName())),
    ];
    expect(names.filter((n) => CREDENTIAL.test(n))).toEqual([]);
    const keywords = dockerfile.getInstructions().map((i) => i.getKeyword());
    expect(keywords).not.toContain('ADD');
    expect(ignore[0]).toBe('**');
    const allowed = ignore.slice(1).map((l) => l.replace(/^!/, ''));
    expect(ignore.slice(1).every((l) => l.startsWith('!'))).toBe(true);
    for (const copy of dockerfile.getCOPYs()) {
      if (copy.getFlags().some((f) => f.getName() === 'from')) continue;
      const sources = copy
        .getArguments()
        .slice(0, -1)
        .map((a) => a.getValue())
        .filter((a) => !a.startsWith('--'));
      for (const source of sources) {
        expect(source.split('/').some((part) => part.startsWith('.'))).toBe(false);
        expect(allowed.some((a) => a === source || (a.endsWith('/**') && source === a.slice(0, -3)))).toBe(true);
      }
    }
    expect(allowed.filter((a) => /(^|\/)\.|\.pem$|id_rsa|\.env/.test(a))).toEqual([]);
  });

  it('installs production dependencies with npm ci --omit=dev from a lock kept in step with package.json (rule 6)', async () => {
    const runs = dockerfile
      .getInstructions()
      .filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getArgumentsContent() ?? '');
    expect(runs.some((r) => /npm ci --omit=dev/.test(r))).toBe(true);
    expect(runs.filter((r) => /npm (install|i) /.test(r))).toEqual([]);
    const pkg = JSON.parse(await read('package.json')) as Record<string, Record<string, string>>;
    const image = JSON.parse(await read('deploy/image/package.json')) as { dependencies: Record<string, string> };
    const lock = JSON.parse(await read('deploy/image/package-lock.json')) as {
      packages: Record<string, { dependencies?: Record<string, string> }>;
    };
    // Every dependency of modelship at its range; every optional peer the server uses at the range tested here.
    for (const [name, range] of Object.entries(pkg.dependencies!)) expect(image.dependencies[name]).toBe(range);
    for (const [name, range] of Object.entries(image.dependencies)) {
      if (pkg.dependencies![name] !== undefined) continue;
      expect(pkg.peerDependencies![name]).toBeDefined();
      expect(range).toBe(pkg.devDependencies![name]);
    }
    expect(lock.packages['']?.dependencies).toEqual(image.dependencies);
  });

  it('keeps the cache and spool paths in ENV on VOLUMEs (rule 7)', () => {
    const env = new Map(dockerfile.getENVs().flatMap((e) => e.getProperties().map((p) => [p.getName(), p.getValue()])));
    const volumes = dockerfile.getInstructions().filter((i) => i.getKeyword() === 'VOLUME');
    const mounted = volumes.flatMap((v) => jsonArgs(v as unknown as JSONInstruction));
    for (const key of ['MODELSHIP_CACHE_DIR', 'MODELSHIP_SPOOL_DIR'])
      expect(mounted.some((m) => (env.get(key) as string).startsWith(m))).toBe(true);
  });
});

/** The image's command run as the container runs it. */
describe('the image command line, run as the container would', () => {
  let dir: string;
  let mounts: Map<string, string>;
  let env: NodeJS.ProcessEnv;
  let argv: string[];
  let port: number;
  /**
   * As root, the command runs as the image's uid 1000, so the read-only copy is really read-only to it; that needs
   * uid 1000 to reach node and this checkout (not so when either lives under /root). Otherwise it runs as this user.
   */
  const asImageUser =
    process.getuid?.() === 0 &&
    spawnSync(
      process.execPath,
      ['-e', `require('fs').accessSync(${JSON.stringify(join(root, 'node_modules', 'yaml', 'package.json'))})`],
      {
        uid: 1000,
        gid: 1000,
      },
    ).status === 0;

  /** A container path as the host sees it through the mounts. */
  const host = (path: string): string => {
    const [from, to] =
      [...mounts].sort((a, b) => b[0].length - a[0].length).find(([m]) => path === m || path.startsWith(`${m}/`)) ?? [];
    return from === undefined ? path : `${to}${path.slice(from.length)}`;
  };

  beforeAll(async () => {
    dir = await tempDir('modelship-image-');
    await chmod(dir, 0o755);
    mounts = new Map(
      [
        '/app',
        '/etc/modelship',
        '/mnt/models',
        '/var/cache/modelship',
        '/var/lib/modelship',
        '/usr/local/bin',
        '/home',
      ].map((m) => [m, join(dir, m)]),
    );
    for (const path of mounts.values()) await mkdir(path, { recursive: true });
    // COPY --from=build /src/dist, COPY package.json LICENSE; node_modules stands for the deps stage's.
    await cp(join(root, 'dist'), host('/app/dist'), { recursive: true });
    await cp(join(root, 'package.json'), host('/app/package.json'));
    await symlink(join(root, 'node_modules'), host('/app/node_modules'));
    // RUN ln -s /app/dist/cli.js /usr/local/bin/modelship
    const link = dockerfile
      .getInstructions()
      .map((i) => i.getArgumentsContent() ?? '')
      .find((r) => r.includes('ln -s'));
    expect(link).toMatch(/chmod 0755 \/app\/dist\/cli\.js/);
    expect(link).toMatch(/ln -s \/app\/dist\/cli\.js \/usr\/local\/bin\/modelship/);
    await chmod(host('/app/dist/cli.js'), 0o755);
    await symlink(join(host('/app/dist/cli.js')), host('/usr/local/bin/modelship'));
    await writeFile(host('/mnt/models/mnist.onnx'), tinyMnist().onnx);
    await writeFile(host('/mnt/models/slow.onnx'), slowModel());
    port = await freePort();
    await writeFile(
      host('/etc/modelship/modelship.yaml'),
      `version: 1\nmodels:\n  mnist:\n    ref: ${host('/mnt/models/mnist.onnx')}\n    workers: 1\n  slow:\n    ref: ${host('/mnt/models/slow.onnx')}\n    workers: 1\n    batching: false\nserver:\n  port: ${port}\n  host: 127.0.0.1\n  shutdownTimeoutMs: 10000\n`,
    );
    // The root filesystem is read-only: only the two volumes are writable, and owned by the image's user.
    for (const m of ['/app/dist', '/etc/modelship', '/mnt/models', '/home']) await chmod(host(m), 0o555);
    await chmod(host('/app'), 0o555);
    if (asImageUser) for (const m of ['/var/cache/modelship', '/var/lib/modelship']) await chown(host(m), 1000, 1000);
    const imageEnv = new Map(
      dockerfile.getENVs().flatMap((e) => e.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])),
    );
    env = {
      PATH: `${host('/usr/local/bin')}:${process.env.PATH}`,
      HOME: host('/home'),
      ...Object.fromEntries([...imageEnv].map(([k, v]) => [k, v.startsWith('/') ? host(v) : v])),
    };
    argv = jsonArgs(dockerfile.getCMDs()[0] as unknown as JSONInstruction).map((a) =>
      a.startsWith('/') ? host(a) : a,
    );
  });

  afterAll(async () => {
    for (const m of ['/app', '/app/dist', '/etc/modelship', '/mnt/models', '/home'])
      await chmod(host(m), 0o755).catch(() => undefined);
  });

  it('becomes ready, predicts, passes its healthcheck, and drains on SIGTERM', async () => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: host('/app'),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asImageUser ? { uid: 1000, gid: 1000 } : {}),
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = once(child, 'exit');
    try {
      const url = `http://127.0.0.1:${port}`;
      await new Promise<void>((resolve, reject) => {
        const check = (): void => (/listening on/.test(output) ? resolve() : undefined);
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        void exited.then(() => reject(new Error(`modelship exited before it was ready:\n${output}`)));
        child.once('error', reject);
      });
      expect((await call(`${url}/readyz`)).status).toBe(200);
      const { images, labels } = digits(4);
      const answer = await postJson(`${url}/models/mnist/predict`, { inputs: { pixels: images } });
      expect(answer.status).toBe(200);
      expect(answer.body.outputs.label).toEqual(labels);
      // HEALTHCHECK's command, with the port the server listens on here.
      const healthArgs = healthcheckCommand(dockerfile);
      const probe = spawn(healthArgs[0] as string, healthArgs.slice(1), { env: { ...env, PORT: String(port) } });
      expect((await once(probe, 'exit'))[0]).toBe(0);
      // A request in flight when SIGTERM arrives is answered; then the process exits 0.
      const inFlight = postJson(`${url}/models/slow/predict`, {
        inputs: Array.from({ length: 64 }, () => new Array(512).fill(1)),
      });
      // The request is on the wire; a round trip on another connection means the server has read it too.
      expect((await call(`${url}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      expect((await inFlight).status).toBe(200);
      expect((await exited)[0]).toBe(0);
      expect(await readdir(host('/app'))).toEqual(['dist', 'node_modules', 'package.json']);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
