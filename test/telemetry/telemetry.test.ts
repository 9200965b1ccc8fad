/**
 * What an app with an OpenTelemetry SDK sees: histograms in seconds with the documented buckets, the batch
 * size, the request counter by outcome, and spans for load, queue and inference.
 */
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, silentLogger, type Model } from 'modelship';
import { IMAGE_SIZE } from '../../examples/shared/mnist-data.js';
import { DURATION_BUCKETS } from '../../src/telemetry/index.js';
import { tinyMnist } from '../helpers/models.js';

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

function find(rm: ResourceMetrics, name: string) {
  for (const scope of rm.scopeMetrics) for (const m of scope.metrics) if (m.descriptor.name === name) return m;
  return undefined;
}

describe('OpenTelemetry', () => {
  const reader = new TestReader();
  const spans = new InMemorySpanExporter();
  let model: Model;

  beforeAll(async () => {
    // Registered before loading, as an app does; modelship itself depends on @opentelemetry/api only.
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
    model = await loadModel(tinyMnist().onnx, { name: 'mnist', version: '3', logger: silentLogger });
    await model.ready();
  });
  afterAll(async () => {
    await model.close();
    metrics.disable();
    trace.disable();
  });

  it('records durations in seconds with explicit buckets, batch sizes and outcomes', async () => {
    const images = tinyMnist().test.images;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => model.predict(images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE))),
    );
    await model.predict([[1, 2]]).catch(() => undefined);
    const { resourceMetrics } = await reader.collect();

    const duration = find(resourceMetrics, 'modelship.request.duration');
    expect(duration?.descriptor.unit).toBe('s');
    const points = duration?.dataPoints as {
      attributes: Record<string, unknown>;
      value: { count: number; buckets: { boundaries: number[] } };
    }[];
    const ok = points.find((p) => p.attributes.outcome === 'success');
    expect(ok?.attributes).toEqual({ 'model.name': 'mnist', 'model.version': '3', outcome: 'success' });
    expect(ok?.value.count).toBe(20);
    expect(ok?.value.buckets.boundaries).toEqual(DURATION_BUCKETS);
    const failed = points.find((p) => p.attributes.outcome === 'error');
    expect(failed?.attributes['error.type']).toBe('INVALID_INPUT');

    for (const name of ['modelship.queue.duration', 'modelship.inference.duration']) {
      expect(find(resourceMetrics, name)?.descriptor.unit, name).toBe('s');
    }
    const batch = find(resourceMetrics, 'modelship.batch.size')?.dataPoints[0] as {
      value: { sum: number; count: number };
    };
    // 20 rows went through, in at most 20 batches (fewer when they were joined).
    expect(batch.value.sum).toBe(20);
    expect(batch.value.count).toBeLessThanOrEqual(20);
    const requests = find(resourceMetrics, 'modelship.requests')?.dataPoints as {
      attributes: Record<string, unknown>;
      value: number;
    }[];
    expect(requests.find((p) => p.attributes.outcome === 'success')?.value).toBe(20);
    const depth = find(resourceMetrics, 'modelship.queue.depth')?.dataPoints[0] as { value: number };
    expect(depth.value).toBe(0);
  });

  it('creates a load span, and predict / queue / inference spans for each request', async () => {
    const loadSpan = spans.getFinishedSpans().find((s) => s.name === 'modelship.load');
    expect(loadSpan?.attributes['model.ref']).toBe('<bytes>');
    spans.reset();
    await model.predict(tinyMnist().test.images.subarray(0, IMAGE_SIZE));
    const finished = spans.getFinishedSpans();
    const predict = finished.find((s) => s.name === 'predict mnist');
    const queue = finished.find((s) => s.name === 'modelship.queue');
    const inference = finished.find((s) => s.name === 'modelship.inference');
    expect(predict && queue && inference).toBeTruthy();
    const parentOf = (s: typeof queue) =>
      (s as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId;
    expect(parentOf(queue)).toBe(predict?.spanContext().spanId);
    expect(parentOf(inference)).toBe(predict?.spanContext().spanId);
    expect(predict?.attributes).toMatchObject({ 'model.name': 'mnist', 'model.version': '3' });
  });
});
