import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ModelTable } from '../model-table.js';
import { GrpcStatus } from './grpc-status.js';

/** The service names Check and Watch answer for: the whole server ('') and the inference service. */
const KNOWN_SERVICES: ReadonlySet<string> = new Set(['', 'inference.GRPCInferenceService']);

/** How often an open Watch looks at the models' states (it sends only changes). */
const WATCH_INTERVAL_MS = 1_000;

type Status = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** The running health service: `close()` ends open Watch streams (with NOT_SERVING) so shutdown can drain. */
export interface HealthService {
  readonly implementation: UntypedServiceImplementation;
  close(): void;
}

/**
 * `grpc.health.v1.Health` over the served models: SERVING when every model is ready (what `ServerReady` and
 * `GET /readyz` say), NOT_SERVING while one is warming or failed and once the server is shutting down.
 */
export function healthService(table: ModelTable): HealthService {
  let closing = false;
  const watchers = new Set<() => void>();
  const status = (service: string): Status => {
    if (!KNOWN_SERVICES.has(service)) return 'SERVICE_UNKNOWN';
    return !closing && table.all.every((m) => m.state === 'ready') ? 'SERVING' : 'NOT_SERVING';
  };
  const Check = (call: ServerUnaryCall<{ service?: string }, unknown>, callback: sendUnaryData<unknown>): void => {
    const service = call.request.service ?? '';
    const s = status(service);
    // The protocol: an unknown service is NOT_FOUND on Check, SERVICE_UNKNOWN on Watch.
    if (s === 'SERVICE_UNKNOWN') callback({ code: GrpcStatus.NOT_FOUND, details: 'No such service here.' }, null);
    else callback(null, { status: s });
  };
  const Watch = (call: ServerWritableStream<{ service?: string }, unknown>): void => {
    const service = call.request.service ?? '';
    let last: Status | undefined;
    const send = (): void => {
      const s = status(service);
      if (s !== last) call.write({ status: s });
      last = s;
    };
    const end = (): void => {
      clearInterval(timer);
      watchers.delete(end);
      if (!call.cancelled) {
        send();
        call.end();
      }
    };
    send();
    const timer = setInterval(send, WATCH_INTERVAL_MS);
    timer.unref();
    watchers.add(end);
    call.once('cancelled', () => {
      clearInterval(timer);
      watchers.delete(end);
    });
  };
  return {
    implementation: { Check, Watch },
    close() {
      closing = true;
      for (const end of [...watchers]) end();
    },
  };
}
