import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { ModelshipError } from '../../errors/index.js';
import type { Servable } from '../../serving/servable.js';
import type { ModelTable } from '../model-table.js';
import { runOipInfer } from '../oip/infer-request.js';
import { recordInference, nsSince } from '../oip/statistics.js';
import { callOptions } from './call-options.js';
import { toGrpcResponse, toOipRequest, type GrpcInferRequest, type GrpcInferResponse } from './infer-codec.js';

/**
 * `ModelInfer`: the request becomes the transport-neutral OIP request and runs through `runOipInfer`, the call
 * the REST `infer` route makes too (same validation, parameters, classification, statistics), with the call's
 * deadline, cancellation and metadata as predict options. Raw requests are answered raw.
 */
export function modelInfer(
  table: ModelTable,
  call: ServerUnaryCall<GrpcInferRequest, GrpcInferResponse>,
  callback: sendUnaryData<GrpcInferResponse>,
  fail: (error: unknown) => void,
): void {
  const startedAt = performance.now();
  const request = call.request;
  let model: Servable;
  try {
    model = table.get(request.model_name ?? '', request.model_version || undefined);
  } catch (error) {
    fail(error);
    return;
  }
  const abort = new AbortController();
  const onCancel = (): void => abort.abort(new ModelshipError('ABORTED', 'The client cancelled the call.'));
  call.once('cancelled', onCancel);
  const done = (): void => void call.removeListener('cancelled', onCancel);
  let answered;
  try {
    answered = runOipInfer(model, toOipRequest(request), {
      predict: callOptions(call, abort.signal),
      binaryByDefault: (request.raw_input_contents?.length ?? 0) > 0,
      startedAt,
    });
  } catch (error) {
    // Refused before the OIP core saw it (gRPC-only rules, a deadline already past): counted as a failure too.
    done();
    recordInference(model, model.version, { rows: 1, ok: false, totalNs: nsSince(startedAt) });
    fail(error);
    return;
  }
  answered.then(
    (response) => {
      done();
      let message: GrpcInferResponse;
      try {
        message = toGrpcResponse(response);
      } catch (error) {
        fail(error);
        return;
      }
      callback(null, message);
    },
    (error: unknown) => {
      done();
      fail(error);
    },
  );
}
