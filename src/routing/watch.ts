import { backoffDelay } from '../core/backoff.js';
import { ModelshipError, toModelshipError } from '../errors/index.js';
import type { Logger } from '../serving/logger.js';
import type { RegistryAdapter } from '../spec/registry.js';

/** What following the registry needs from the deployment. */
export interface WatchHost {
  readonly name: string;
  readonly logger: Logger;
  /** True while the deployment takes changes. */
  serving(): boolean;
  stableVersion(): string;
  previousVersion(): string | undefined;
  /** Runs `task` after every change queued before it. */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
  switchTo(ref: string): Promise<void>;
  revert(): Promise<void>;
}

/**
 * Follows the registry: when `stable` (`mnist@production`) moves to another version, switches to it (or
 * reverts, when it moved back to the version kept as previous). A switch the registry made fail (down,
 * flapping mid-download) is tried again with backoff, as the watch will not call again until the reference
 * moves once more; stable keeps serving meanwhile. Returns the function that stops following.
 */
export function followRegistry(
  registry: RegistryAdapter | undefined,
  stable: unknown,
  intervalMs: number | undefined,
  defaultIntervalMs: number,
  host: WatchHost,
): () => void {
  if (registry?.watch === undefined || typeof stable !== 'string') {
    throw new ModelshipError(
      'INVALID_OPTIONS',
      `watch needs a registry with watch() and a registry reference as stable (deployment ${host.name}).`,
    );
  }
  const base = stable.split('@')[0]?.split('/')[0] as string;
  const retry = { baseMs: intervalMs ?? defaultIntervalMs, maxMs: 60_000 };
  /** The reference the watch last asked for, and the timer trying it again after a registry failure. */
  let watched: string | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const follow = (version: string, ref: string, attempt: number): void => {
    watched = ref;
    clearTimeout(retryTimer);
    void host
      .exclusive(async () => {
        if (!host.serving() || watched !== ref || version === host.stableVersion()) return;
        host.logger.info(`Deployment ${host.name}: ${stable} moved to version ${version}.`);
        if (host.previousVersion() === version) await host.revert();
        else await host.switchTo(ref);
      })
      .catch((error: unknown) => {
        // Refusals are reported by the switch; only one the registry caused is worth another try.
        if (!host.serving() || watched !== ref || !toModelshipError(error).retryable) return;
        retryTimer = setTimeout(() => follow(version, ref, attempt + 1), backoffDelay(attempt, retry));
        (retryTimer as { unref?: () => void }).unref?.();
      });
  };
  const unwatch = registry.watch(
    stable,
    (next) => follow(next.version, next.versionRef ?? `${base}/${next.version}`, 0),
    {
      ...(intervalMs === undefined ? {} : { intervalMs }),
      since: { version: host.stableVersion() },
      onError: (error) =>
        host.logger.warn(
          `Deployment ${host.name}: watching ${stable} failed (${error.message}); still serving ${host.stableVersion()}.`,
        ),
    },
  );
  return () => {
    unwatch();
    clearTimeout(retryTimer);
  };
}
