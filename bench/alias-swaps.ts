/**
 * What both soaks serve: a deployment that follows `mnist@production` in a local registry holding two versions,
 * over a real HTTP server, and alias moves awaited as the deployment's events.
 */
import { join } from 'node:path';
import { createDeployment, createHandler, createLocalRegistry, silentLogger, type Deployment } from 'modelship';
import { serve, type ModelshipServer } from 'modelship/node';

/** The served deployment and the registry whose alias it follows. */
export interface FollowingServer {
  readonly registry: ReturnType<typeof createLocalRegistry>;
  readonly deployment: Deployment;
  readonly server: ModelshipServer;
}

/** Publishes `v1` (as `production`) and `v2` under `root/registry` and serves a deployment following the alias. */
export async function serveFollowingDeployment(
  root: string,
  v1: Uint8Array,
  v2: Uint8Array,
  watchIntervalMs: number,
): Promise<FollowingServer> {
  const registry = createLocalRegistry({ root: join(root, 'registry') });
  await registry.publish({ name: 'mnist', bytes: v1, aliases: ['production'] });
  await registry.publish({ name: 'mnist', bytes: v2 });
  const deployment = await createDeployment({
    name: 'mnist',
    registry,
    stable: 'mnist@production',
    watch: { intervalMs: watchIntervalMs },
    keepPrevious: 0, // every move loads, switches, drains and closes: the hardest path
    modelOptions: { workers: 1 },
    logger: silentLogger,
  });
  const server = await serve(createHandler({ models: [deployment], logger: silentLogger }), {
    port: 0,
    host: '127.0.0.1',
  });
  return { registry, deployment, server };
}

/**
 * Moves `production` to `version` and waits for the deployment to take it: undefined once one of `done` events
 * arrives, else why not (refused, or nothing within 60 s).
 */
export function moveAlias(
  { registry, deployment }: FollowingServer,
  version: string,
  done: readonly ('switch' | 'rollback')[] = ['switch'],
): Promise<string | undefined> {
  const happened = new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => finish(`the move to version ${version} did not happen within 60 s`), 60_000);
    const offs = [
      ...done.map((event) => deployment.on(event, () => finish(undefined))),
      deployment.on('refused', (e) => finish(`the move to version ${version} was refused: ${e.error.message}`)),
    ];
    function finish(failure: string | undefined): void {
      clearTimeout(timer);
      offs.forEach((off) => off());
      resolve(failure);
    }
  });
  return registry.setAlias('mnist', 'production', version).then(() => happened);
}
