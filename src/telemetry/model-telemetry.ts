import {
  context,
  metrics,
  ProxyTracerProvider,
  SpanStatusCode,
  trace,
  ValueType,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type ObservableGauge,
  type ObservableResult,
  type Span,
} from '@opentelemetry/api';
import { ATTR, BATCH_SIZE_BUCKETS, DURATION_BUCKETS, INSTRUMENTATION_SCOPE, METRICS } from './names.js';

declare const MODELSHIP_VERSION: string | undefined;
const SCOPE_VERSION = typeof MODELSHIP_VERSION === 'string' ? MODELSHIP_VERSION : '0.0.0-dev';

interface Instruments {
  readonly provider: MeterProvider;
  /** False for the API's no-op provider: then nothing is recorded and callers can skip taking timestamps. */
  readonly enabled: boolean;
  readonly requestDuration: Histogram;
  readonly queueDuration: Histogram;
  readonly inferenceDuration: Histogram;
  readonly batchSize: Histogram;
  readonly requests: Counter;
  readonly workerRestarts: Counter;
  readonly inFlight: ObservableGauge;
  readonly queueDepth: ObservableGauge;
}

/** Live numbers the gauges read when the SDK collects. */
export interface GaugeSource {
  inFlight(): number;
  queueDepth(): number;
}

function createInstruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE, SCOPE_VERSION);
  const seconds = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
  return {
    provider,
    // The API hands out its NoopMeterProvider until an SDK registers one; it is not exported, hence the name.
    enabled: provider.constructor.name !== 'NoopMeterProvider',
    requestDuration: seconds(METRICS.requestDuration, 'Time from predict() to its answer, including queueing.'),
    queueDuration: seconds(METRICS.queueDuration, 'Time a request waited in the batching queue.'),
    inferenceDuration: seconds(
      METRICS.inferenceDuration,
      'Time one batch spent in the runtime (worker round trip included).',
    ),
    batchSize: meter.createHistogram(METRICS.batchSize, {
      unit: '{row}',
      description: 'Rows per batch sent to the runtime.',
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: BATCH_SIZE_BUCKETS },
    }),
    requests: meter.createCounter(METRICS.requests, {
      unit: '{request}',
      description: 'Predict calls, by outcome and error type.',
      valueType: ValueType.INT,
    }),
    workerRestarts: meter.createCounter(METRICS.workerRestarts, {
      unit: '{restart}',
      description: 'Worker threads replaced after a crash.',
      valueType: ValueType.INT,
    }),
    inFlight: meter.createObservableGauge(METRICS.inFlight, {
      unit: '{request}',
      description: 'Predict calls accepted and not yet answered.',
      valueType: ValueType.INT,
    }),
    queueDepth: meter.createObservableGauge(METRICS.queueDepth, {
      unit: '{request}',
      description: 'Requests waiting in the batching queue.',
      valueType: ValueType.INT,
    }),
  };
}

let shared: Instruments | undefined;

/**
 * Instruments from whatever MeterProvider is registered now. Looked up on every use, so an app that registers
 * its SDK after loading a model still gets the metrics; with no SDK the API's no-op instruments cost nothing.
 */
function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (shared?.provider !== provider) shared = createInstruments(provider);
  return shared;
}

const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** True when an app registered a tracer provider (spans are then worth creating). */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider ? provider.getDelegate() !== NOOP_TRACER_PROVIDER : true;
}

/** Spans of one request: the request itself, its time in the queue and its inference. */
export interface RequestSpans {
  dispatched(): void;
  end(error?: { code: string; message: string }): void;
}

/** Metrics and spans of one served model version; attributes are built once here, not per request. */
export class ModelTelemetry {
  readonly #attrs: Attributes;
  readonly #success: Attributes;
  readonly #errorAttrs = new Map<string, Attributes>();
  readonly #source: GaugeSource;
  #gauges: Instruments | undefined;
  readonly #observeInFlight = (r: ObservableResult): void => r.observe(this.#source.inFlight(), this.#attrs);
  readonly #observeQueue = (r: ObservableResult): void => r.observe(this.#source.queueDepth(), this.#attrs);

  constructor(name: string, version: string, source: GaugeSource) {
    this.#attrs = { [ATTR.modelName]: name, [ATTR.modelVersion]: version };
    this.#success = { ...this.#attrs, [ATTR.outcome]: 'success' };
    this.#source = source;
    this.#registerGauges();
  }

  #registerGauges(): Instruments {
    const current = instruments();
    if (this.#gauges !== current) {
      this.#unregisterGauges();
      current.inFlight.addCallback(this.#observeInFlight);
      current.queueDepth.addCallback(this.#observeQueue);
      this.#gauges = current;
    }
    return current;
  }

  #unregisterGauges(): void {
    this.#gauges?.inFlight.removeCallback(this.#observeInFlight);
    this.#gauges?.queueDepth.removeCallback(this.#observeQueue);
    this.#gauges = undefined;
  }

  /** True when a MeterProvider is registered; without one, timing requests is wasted work. */
  get metricsEnabled(): boolean {
    return instruments().enabled;
  }

  /** A predict call finished. */
  request(seconds: number, errorCode?: string): void {
    const i = this.#registerGauges();
    let attrs = this.#success;
    if (errorCode !== undefined) {
      attrs = this.#errorAttrs.get(errorCode) ?? {
        ...this.#attrs,
        [ATTR.outcome]: 'error',
        [ATTR.errorType]: errorCode,
      };
      this.#errorAttrs.set(errorCode, attrs);
    }
    i.requests.add(1, attrs);
    i.requestDuration.record(seconds, attrs);
  }

  /** A batch left the queue. */
  dispatched(rows: number, waits: readonly number[]): void {
    const i = instruments();
    i.batchSize.record(rows, this.#attrs);
    for (const w of waits) i.queueDuration.record(w, this.#attrs);
  }

  /** A batch came back from the runtime. */
  executed(seconds: number): void {
    instruments().inferenceDuration.record(seconds, this.#attrs);
  }

  workerRestarted(): void {
    instruments().workerRestarts.add(1, this.#attrs);
  }

  /** Spans for one request, children of the active context (an HTTP server span, say). */
  startRequestSpans(): RequestSpans | undefined {
    if (!tracingEnabled()) return undefined;
    const tracer = trace.getTracer(INSTRUMENTATION_SCOPE, SCOPE_VERSION);
    const parent = tracer.startSpan(`predict ${String(this.#attrs[ATTR.modelName])}`, { attributes: this.#attrs });
    const ctx = trace.setSpan(context.active(), parent);
    const queue = tracer.startSpan('modelship.queue', { attributes: this.#attrs }, ctx);
    let inference: Span | undefined;
    return {
      dispatched: () => {
        if (inference) return; // a request split into parts leaves the queue once per part
        queue.end();
        inference = tracer.startSpan('modelship.inference', { attributes: this.#attrs }, ctx);
      },
      end: (error) => {
        if (!inference) queue.end();
        for (const span of inference ? [inference, parent] : [parent]) {
          if (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
            span.setAttribute(ATTR.errorType, error.code);
          }
          span.end();
        }
      },
    };
  }

  /** Stops reporting gauges for this model (it was closed). */
  close(): void {
    this.#unregisterGauges();
  }
}

/** Runs `fn` inside a `modelship.load` span when tracing is on. */
export async function withLoadSpan<T>(ref: string, fn: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return fn();
  const tracer = trace.getTracer(INSTRUMENTATION_SCOPE, SCOPE_VERSION);
  return tracer.startActiveSpan('modelship.load', { attributes: { 'model.ref': ref } }, async (span) => {
    try {
      return await fn();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
