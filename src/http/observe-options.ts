import { z } from 'zod';

/** One request and its answer, as payload logging hands it over (KServe's request/response logging). */
export interface PayloadRecord {
  /** A random id for this pair of bodies. */
  readonly id: string;
  /** When the answer was ready (ISO 8601). */
  readonly time: string;
  readonly method: string;
  /** The URL path (never the query string, which may carry tokens). */
  readonly path: string;
  /** The model named in the path (`/models/{name}/…`, `/v2/models/{name}/…`), when there is one. */
  readonly model?: string;
  readonly status: number;
  /** The request body as UTF-8 text, cut at `maxBytes`; `bytes` is its full size. Empty when none was read. */
  readonly request: PayloadBody;
  /** The answer's body, cut at `maxBytes`. */
  readonly response: PayloadBody;
}

/** A body in a {@link PayloadRecord}. */
export interface PayloadBody {
  /** The text, at most `maxBytes` bytes of it. */
  readonly body: string;
  /** The whole body's size in bytes. */
  readonly bytes: number;
  /** True when `body` was cut. */
  readonly truncated: boolean;
}

const rate = z.number().min(0, 'sampleRate is a share between 0 and 1').max(1, 'sampleRate is a share between 0 and 1');
const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', `${what} must be a function`);

/**
 * The handler's observability options: the built-in Prometheus `/metrics`, the access log and payload logging.
 * All are off unless given; off, the request path is exactly what it is without them.
 */
export const observeOptionsShape = {
  /**
   * `true` (or `{ path, serviceName }`) answers `GET /metrics` in Prometheus' text format: modelship registers an
   * OpenTelemetry MeterProvider with a Prometheus reader (the optional peers `@opentelemetry/sdk-metrics`,
   * `@opentelemetry/exporter-prometheus` and `@opentelemetry/resources` must be installed; they are loaded only
   * then). `serviceName` (default `modelship`) is the resource's `service.name`. An app that registers its own
   * SDK leaves this off and adds a Prometheus reader to its provider instead.
   */
  metrics: z
    .union([
      z.boolean(),
      z.strictObject({
        /** The path Prometheus scrapes (default `/metrics`). */
        path: z
          .string()
          .regex(/^\/\S*$/, 'path must start with "/", e.g. "/metrics"')
          .optional(),
        serviceName: z.string().min(1).optional(),
      }),
    ])
    .optional(),
  /**
   * Access log: one line per answered request through the handler's `logger`, at info level, with
   * `http.request.method`, `url.path`, `http.response.status_code`, `event.duration` (ns), `labels.model_name`
   * and `error.code` (with `createEcsLogger` these are ECS fields). `true` logs every request; `{ sampleRate }`
   * a share of them (server errors, 5xx, are always logged). Off by default. Headers and bodies are never logged.
   */
  accessLog: z.union([z.boolean(), z.strictObject({ sampleRate: rate.optional() })]).optional(),
  /**
   * Payload logging (KServe style): request and answer bodies of a sample of requests go to `sink`, each cut
   * at `maxBytes` (default 16 KiB). Off by default; the sink may be `createPayloadFileSink(path)` (modelship/node)
   * or your own callback. A sink that throws or rejects is logged at warn level and never fails the request.
   */
  payloadLog: z
    .strictObject({
      /** Receives each sampled request/answer record. */
      sink: fn<(record: PayloadRecord) => void | Promise<void>>('payloadLog.sink'),
      /** Share of requests logged (default 1). */
      sampleRate: rate.optional(),
      /** Largest body kept per record, in bytes (default 16384, at most 1 MiB). */
      maxBytes: z
        .number()
        .int()
        .positive()
        .max(1024 * 1024)
        .optional(),
    })
    .optional(),
};

/** The observability options as parsed. */
export type ObserveOptions = z.output<z.ZodObject<typeof observeOptionsShape>>;
