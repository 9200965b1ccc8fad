/**
 * `session.executionProviders` fallback: which of the requested providers this onnxruntime-node build can
 * use, found once per process on a tiny model before any worker starts, so that `['cuda', 'cpu']` on a build
 * without CUDA runs on the CPU with one warning instead of failing every worker. Why and which builds have
 * what: docs/gpu.md.
 */
import type * as Ort from 'onnxruntime-node';
import { ModelshipError } from '../../errors/index.js';

/** y = Identity(x), float32 [1]: the smallest model a provider must be able to open (109 bytes). */
const PROBE_MODEL = Buffer.from(
  'CAgSEm1vZGVsc2hpcC1leGFtcGxlcxoBMTIAOkoKHAoBeBIBeRoKaWRlbnRpdHlfMCIISWRlbnRpdHkSCGVwX3Byb2JlWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQEQ==',
  'base64',
);

/** Per provider name: undefined when usable, else why not. Probed once per process. */
const probes = new Map<string, Promise<string | undefined>>();

type OrtModule = typeof Ort;

function probe(ort: OrtModule, name: string): Promise<string | undefined> {
  let p = probes.get(name);
  if (!p) {
    p = (async () => {
      // A provider the build does not list is absent; onnxruntime would silently drop some (dml on Linux).
      const listed = (ort as { listSupportedBackends?: () => { name: string }[] }).listSupportedBackends?.();
      if (listed && !listed.some((b) => b.name === name)) return 'not part of this onnxruntime-node build';
      try {
        const session = await ort.InferenceSession.create(new Uint8Array(PROBE_MODEL), {
          executionProviders: [name],
          logSeverityLevel: 4,
        });
        await session.release();
        return undefined;
      } catch (error) {
        // onnxruntime's message names library and source paths: never show them.
        const message = error instanceof Error ? error.message : String(error);
        const clean = message
          .replace(/(?:[A-Za-z]:)?(?:[\\/][^\s:\\/()]+)+/g, '<path>')
          .replace(/\s+/g, ' ')
          .trim();
        return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean || 'it failed to start';
      }
    })();
    probes.set(name, p);
  }
  return p;
}

/** The requested providers this build can use, in the order given, and those left out with the reason. */
export interface ProviderChoice {
  readonly providers: string[];
  readonly dropped: { readonly name: string; readonly reason: string }[];
}

/**
 * Filters `requested` down to the providers that work here. `cpu` is always there. Throws `MODEL_LOAD_FAILED`
 * when none does (the list then has no fallback: add `'cpu'` to it).
 */
export async function usableProviders(ort: OrtModule, requested: readonly string[]): Promise<ProviderChoice> {
  const providers: string[] = [];
  const dropped: { name: string; reason: string }[] = [];
  for (const name of requested) {
    const reason = name === 'cpu' ? undefined : await probe(ort, name);
    if (reason === undefined) providers.push(name);
    else dropped.push({ name, reason });
  }
  if (providers.length === 0 && requested.length > 0) {
    throw new ModelshipError(
      'MODEL_LOAD_FAILED',
      `None of the execution providers ${requested.map((n) => `'${n}'`).join(', ')} can run in this onnxruntime-node build (${dropped.map((d) => `${d.name}: ${d.reason}`).join('; ')}). Add 'cpu' to session.executionProviders to fall back to it, or install a build that has them (docs/gpu.md).`,
      { details: { requested: [...requested], unavailable: dropped.map((d) => d.name) } },
    );
  }
  return { providers, dropped };
}

/** The one warning a fallback gets. */
export function fallbackWarning(choice: ProviderChoice): string {
  const gone = choice.dropped.map((d) => `'${d.name}' (${d.reason})`).join(', ');
  return `session.executionProviders: ${gone} cannot run in this onnxruntime-node build; running on ${choice.providers.map((n) => `'${n}'`).join(', ')} instead. See docs/gpu.md for builds with GPU providers.`;
}
