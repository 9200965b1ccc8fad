/**
 * The ECS log lines against the official formatter: the same calls go to pino with `@elastic/ecs-pino-format`
 * and to `createEcsLogger`, and every field the official formatter writes comes out of ours with the same value
 * (nested objects and dotted keys compared flattened, as Elasticsearch reads them). Then what only modelship
 * adds: `trace.id`/`span.id` of the active OpenTelemetry span, and the library's own lines through pino.
 */
import { hostname } from 'node:os';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../src/errors/index.js';
import { logLine, type LogFields, type LogLevel } from '../../src/core/logger.js';
import { createEcsLogger, ECS_VERSION, type EcsLogger } from '../../src/telemetry/ecs-logger.js';

type Json = Record<string, unknown>;

/** `{ a: { b: 1 }, 'c.d': 2 }` → `{ 'a.b': 1, 'c.d': 2 }`: how Elasticsearch maps both spellings. */
function flatten(value: Json, prefix = '', out: Json = {}): Json {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) flatten(v as Json, key, out);
    else out[key] = v;
  }
  return out;
}

/** Both loggers, writing into arrays; `call` sends the same arguments to each. */
function pair(service = 'mnist-api') {
  const official: string[] = [];
  const ours: string[] = [];
  const reference = pino(
    { ...ecsFormat({ serviceName: service }), level: 'debug' },
    { write: (s: string) => official.push(s) },
  );
  const logger = createEcsLogger({
    serviceName: service,
    hostname: hostname(),
    level: 'debug',
    write: (s) => ours.push(s),
  });
  return {
    reference,
    logger,
    lines: () => ({
      official: official.map((l) => flatten(JSON.parse(l) as Json)),
      ours: ours.map((l) => flatten(JSON.parse(l) as Json)),
    }),
  };
}

/** Every field of the official line is in ours with the same value; `@timestamp` is an ISO time in both. */
function expectSameFields(official: Json, ours: Json): void {
  expect(Object.keys(ours).sort()).toEqual(Object.keys(official).sort());
  for (const [key, value] of Object.entries(official)) {
    if (key === '@timestamp') expect(new Date(ours[key] as string).toISOString()).toBe(ours[key]);
    else expect(ours[key], key).toEqual(value);
  }
}

describe('ECS lines match @elastic/ecs-pino-format, field by field', () => {
  // Made once: both loggers must see the same error (its stack names the line it was made on).
  const crash = new ModelshipError('INTERNAL', 'The worker crashed.', { cause: new Error('boom') });
  const notATensor = new TypeError('not a tensor');
  const calls: Array<[string, (l: { [K in LogLevel]: (...a: any[]) => void }) => void]> = [
    ['a plain message', (l) => l.info('Model mnist 3 is ready.')],
    ['printf arguments', (l) => l.warn('%s answered %d of %d', 'mnist', 7, 9)],
    [
      'model labels and a duration in ns',
      (l) =>
        l.info(
          { 'labels.model_name': 'mnist', 'labels.model_version': '3', 'event.duration': 1_250_000 },
          'Model mnist 3 warmed up.',
        ),
    ],
    [
      'an access line',
      (l) =>
        l.info(
          {
            'event.dataset': 'modelship.access',
            'http.request.method': 'POST',
            'url.path': '/models/mnist/predict',
            'http.response.status_code': 200,
            'event.duration': 812_000,
            'labels.model_name': 'mnist',
          },
          'POST /models/mnist/predict 200',
        ),
    ],
    [
      'a ModelshipError with its code',
      (l) =>
        l.error(
          {
            err: crash,
            'error.code': 'INTERNAL',
          },
          'INTERNAL: The worker crashed.',
        ),
    ],
    ['an Error alone', (l) => l.error(notATensor)],
    ['a thrown non-Error', (l) => l.warn({ err: 'a string was thrown' }, 'listener threw')],
    ['debug level', (l) => l.debug({ 'labels.model_name': 'iris' }, 'Mirrored request failed.')],
  ];

  for (const [what, call] of calls) {
    it(what, () => {
      const { reference, logger, lines } = pair();
      call(reference);
      call(logger);
      const { official, ours } = lines();
      expect(official).toHaveLength(1);
      expect(ours).toHaveLength(1);
      expectSameFields(official[0] as Json, ours[0] as Json);
      expect(ours[0]?.['ecs.version']).toBe(ECS_VERSION);
    });
  }

  it('child loggers add their bindings to every line, as pino children do', () => {
    const { reference, logger, lines } = pair();
    reference.child({ 'labels.deployment_name': 'fraud' }).warn({ 'labels.model_version': '2' }, 'rolled back');
    logger.child({ 'labels.deployment_name': 'fraud' }).warn({ 'labels.model_version': '2' }, 'rolled back');
    const { official, ours } = lines();
    expectSameFields(official[0] as Json, ours[0] as Json);
  });

  it('drops lines below its level, as pino does', () => {
    const seen: string[] = [];
    const logger = createEcsLogger({ level: 'warn', write: (s) => seen.push(s) });
    logger.debug('x');
    logger.info('y');
    logger.warn('z');
    expect(seen.map((s) => (JSON.parse(s) as Json).message)).toEqual(['z']);
    expect(logger.isLevelEnabled('info')).toBe(false);
  });

  it('refuses bad options with INVALID_OPTIONS', () => {
    expect(() => createEcsLogger({ level: 'trace' as 'info' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => createEcsLogger({ write: 'stdout' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

describe('what the library writes through a logger', () => {
  const fields: LogFields = {
    err: new ModelshipError('MODEL_LOAD_FAILED', 'Warm-up failed.'),
    'error.code': 'MODEL_LOAD_FAILED',
    'labels.model_name': 'mnist',
  };

  it('pino gets (fields, message), so its ECS line carries the labels and the error', () => {
    const official: string[] = [];
    logLine(pino(ecsFormat({ serviceName: 'svc' }), { write: (s: string) => official.push(s) }), 'warn', 'm', fields);
    const line = flatten(JSON.parse(official[0] as string) as Json);
    expect(line).toMatchObject({
      message: 'm',
      'labels.model_name': 'mnist',
      'error.code': 'MODEL_LOAD_FAILED',
      'error.type': 'ModelshipError',
      'error.message': 'Warm-up failed.',
    });
  });

  it('a console-like logger gets (message, err), and (message) without an error', () => {
    const got: unknown[][] = [];
    const consoleLike = {
      debug: () => undefined,
      info: (...a: unknown[]) => got.push(a),
      warn: (...a: unknown[]) => got.push(a),
      error: () => undefined,
    };
    logLine(consoleLike, 'warn', 'with error', fields);
    logLine(consoleLike, 'info', 'without', { 'labels.model_name': 'mnist' });
    expect(got).toEqual([['with error', fields.err], ['without']]);
  });
});

describe('trace.id and span.id from the active OpenTelemetry span', () => {
  let logger: EcsLogger;
  const lines: string[] = [];
  const manager = new AsyncLocalStorageContextManager();

  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    logger = createEcsLogger({ write: (s) => lines.push(s) });
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });

  it('puts the ids of the span the line is written in, and none outside a span', async () => {
    const tracer = trace.getTracer('test');
    const ids = await tracer.startActiveSpan('predict', async (span) => {
      await Promise.resolve();
      logger.info('inside');
      span.end();
      return span.spanContext();
    });
    logger.info('outside');
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Json);
    expect(inside).toMatchObject({ 'trace.id': ids.traceId, 'span.id': ids.spanId });
    expect(outside).not.toHaveProperty('trace.id');
    expect(outside).not.toHaveProperty('span.id');
  });
});
