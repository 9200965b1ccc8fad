import { metrics, ValueType, type Attributes, type Counter, type MeterProvider } from '@opentelemetry/api';
import { ATTR, INSTRUMENTATION_SCOPE, METRICS } from './names.js';

let provider: MeterProvider | undefined;
let counter: Counter | undefined;
const attrsByCode = new Map<string, Attributes>();

/**
 * Counts an HTTP request answered with an error (`modelship.http.errors`, attribute `error.type`), including
 * those no model saw: a client that hung up mid-upload, a body too slow or too large, a server too busy. The
 * counter is looked up again when the registered MeterProvider changes; with none it is a no-op.
 */
export function recordHttpError(code: string): void {
  const current = metrics.getMeterProvider();
  if (counter === undefined || provider !== current) {
    provider = current;
    counter = current.getMeter(INSTRUMENTATION_SCOPE).createCounter(METRICS.httpErrors, {
      unit: '{request}',
      description: 'HTTP requests answered with an error, by error type (client aborts and timeouts included).',
      valueType: ValueType.INT,
    });
  }
  let attrs = attrsByCode.get(code);
  if (attrs === undefined) {
    attrs = { [ATTR.errorType]: code };
    attrsByCode.set(code, attrs);
  }
  counter.add(1, attrs);
}
