import { metrics } from '@opentelemetry/api';
import type * as ExporterModule from '@opentelemetry/exporter-prometheus';
import type * as ResourcesModule from '@opentelemetry/resources';
import type * as SdkMetricsModule from '@opentelemetry/sdk-metrics';
import { ModelshipError } from '../errors/index.js';

/** The content type of Prometheus' text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The built-in `/metrics`: an SDK MeterProvider with a Prometheus reader, shared by every handler that asks. */
export interface PrometheusEndpoint {
  /** Settles (never rejects) once the SDK is registered, or failed to be: requests from then on are counted. */
  readonly ready: Promise<void>;
  /** The metrics in Prometheus text format. Rejects with the reason the SDK could not be set up. */
  scrape(): Promise<string>;
  /** Drops this user; the last one shuts the provider down and unregisters it. */
  release(): Promise<void>;
}

interface Sdk {
  readonly exporter: ExporterModule.PrometheusExporter;
  readonly serializer: ExporterModule.PrometheusSerializer;
  readonly provider: SdkMetricsModule.MeterProvider;
}

// Computed specifiers: createHandler is in the runtime-agnostic entry, and bundlers (Next.js, Vite) must not try
// to resolve these optional Node-side peers for apps that never turn metrics on.
const load = (specifier: string): Promise<unknown> => import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);

async function startSdk(serviceName: string): Promise<Sdk> {
  let sdk: typeof SdkMetricsModule;
  let exporterModule: typeof ExporterModule;
  let resources: typeof ResourcesModule;
  try {
    [sdk, exporterModule, resources] = (await Promise.all([
      load('@opentelemetry/sdk-metrics'),
      load('@opentelemetry/exporter-prometheus'),
      load('@opentelemetry/resources'),
    ])) as [typeof SdkMetricsModule, typeof ExporterModule, typeof ResourcesModule];
  } catch (cause) {
    throw new ModelshipError(
      'DEPENDENCY_MISSING',
      'metrics: true needs the optional peer dependencies @opentelemetry/sdk-metrics, @opentelemetry/exporter-prometheus and @opentelemetry/resources: npm install @opentelemetry/sdk-metrics @opentelemetry/exporter-prometheus @opentelemetry/resources',
      { cause },
    );
  }
  const exporter = new exporterModule.PrometheusExporter({ preventServerStart: true });
  const provider = new sdk.MeterProvider({
    readers: [exporter],
    resource: resources.resourceFromAttributes({ 'service.name': serviceName }),
  });
  if (!metrics.setGlobalMeterProvider(provider)) {
    await provider.shutdown();
    throw new ModelshipError(
      'INVALID_OPTIONS',
      'metrics: true registers its own OpenTelemetry MeterProvider, but the app has registered one already; add a PrometheusExporter reader to that provider and drop metrics: true.',
    );
  }
  return { exporter, provider, serializer: new exporterModule.PrometheusSerializer() };
}

let shared: { sdk: Promise<Sdk>; users: number } | undefined;

/**
 * Starts (or joins) the built-in Prometheus endpoint. The SDK is imported and registered as the global
 * MeterProvider right away, so requests from now on are counted; a failure is reported on each scrape.
 */
export function startPrometheusEndpoint(serviceName: string): PrometheusEndpoint {
  const entry = (shared ??= { sdk: startSdk(serviceName), users: 0 });
  entry.users++;
  // Reported by scrape(); not an unhandled rejection in the meantime.
  entry.sdk.catch(() => undefined);
  let released = false;
  return {
    ready: entry.sdk.then(
      () => undefined,
      () => undefined,
    ),
    async scrape() {
      const { exporter, serializer } = await entry.sdk;
      const { resourceMetrics } = await exporter.collect();
      return serializer.serialize(resourceMetrics);
    },
    async release() {
      if (released) return;
      released = true;
      if (--entry.users > 0) return;
      if (shared === entry) shared = undefined;
      const sdk = await entry.sdk.catch(() => undefined);
      if (sdk === undefined) return;
      await sdk.provider.shutdown();
      if (metrics.getMeterProvider() === sdk.provider) metrics.disable();
    },
  };
}
