import { ModelshipError, toModelshipError } from '../../errors/index.js';
import type { ModelRepository } from '../../serving/model-repository.js';
import { parseJsonBytes, readBody, requireJsonType } from '../body.js';
import type { OutboundResponse } from '../exchange.js';
import { inProtocol, json } from '../responses.js';
import { requireMethod, type RouteContext } from '../route-context.js';
import { tokensMatch } from './admin.js';

/** Control requests are a few bytes; anything bigger is refused before it is read. */
const MAX_CONTROL_BODY_BYTES = 64 * 1024;
/** Triton answers a load or unload with 200 and no body. */
const EMPTY_OK: OutboundResponse = { status: 200, headers: {}, body: '' };

/**
 * True when Triton's model repository extension is served: the handler serves a model repository
 * (`createModelRepository`) and has an admin token. `GET /v2` then lists `model_repository`.
 */
export function repositoryEnabled(ctx: RouteContext): boolean {
  return ctx.table.repository !== undefined && ctx.adminToken !== undefined;
}

/** True for a request this route answers: `/v2/repository/...` with the extension enabled. */
export function isRepositoryRoute(ctx: RouteContext): boolean {
  return ctx.segments[1] === 'repository' && repositoryEnabled(ctx);
}

/**
 * Triton's model repository extension behind the admin token, answered as Triton does:
 * `POST /v2/repository/index` (`{"ready"?: boolean}`) lists `[{name, version?, state, reason}]`;
 * `POST /v2/repository/models/{name}/load` and `.../unload` (`{"parameters"?: {...}}`) answer 200 with no
 * body once the model is loaded or unloaded; errors are `{"error": "<message>"}` with modelship's `code`.
 * https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_model_repository.md
 */
export async function handleRepository(ctx: RouteContext): Promise<OutboundResponse> {
  try {
    await authorize(ctx);
    return await route(ctx, ctx.table.repository as ModelRepository);
  } catch (error) {
    throw inProtocol(error, 'oip');
  }
}

async function authorize(ctx: RouteContext): Promise<void> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.request.header('authorization') ?? '');
  if (m === null || !(await tokensMatch(m[1] as string, ctx.adminToken as string))) {
    throw new ModelshipError(
      'UNAUTHORIZED',
      'The repository routes need "Authorization: Bearer <token>" with the token given to createHandler({ admin }).',
    );
  }
}

async function route(ctx: RouteContext, repository: ModelRepository): Promise<OutboundResponse> {
  const s = ctx.segments;
  if (s.length === 3 && s[2] === 'index') {
    requireMethod(ctx, 'POST');
    const body = await controlBody(ctx);
    if (body.ready !== undefined && typeof body.ready !== 'boolean') {
      throw new ModelshipError(
        'INVALID_ARGUMENT',
        'Unable to parse \'ready\': send {"ready": true} or {"ready": false}.',
      );
    }
    return json(repository.index({ ready: body.ready === true }));
  }
  const name = s[3];
  const action = s[4];
  if (s.length === 5 && s[2] === 'models' && name !== undefined && (action === 'load' || action === 'unload')) {
    requireMethod(ctx, 'POST');
    const body = await controlBody(ctx);
    parameters(body, action);
    if (action === 'unload') {
      await repository.unload(name);
      return EMPTY_OK;
    }
    try {
      await repository.load(name);
    } catch (error) {
      throw loadFailure(error, name);
    }
    return EMPTY_OK;
  }
  throw new ModelshipError(
    'ROUTE_NOT_FOUND',
    `No repository route for ${ctx.method} ${ctx.request.path}; the routes are POST /v2/repository/index and POST /v2/repository/models/{name}/load or /unload.`,
  );
}

/** The optional JSON body: empty means `{}` (Triton's clients send no body by default). */
async function controlBody(ctx: RouteContext): Promise<Record<string, unknown>> {
  requireJsonType(ctx.request);
  const bytes = await readBody(ctx.request, Math.min(ctx.maxBodyBytes, MAX_CONTROL_BODY_BYTES));
  if (bytes.byteLength === 0) return {};
  const body = parseJsonBytes(bytes);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ModelshipError('INVALID_ARGUMENT', 'The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

/**
 * Load parameters Triton defines that would change the model (`config`, `file:<path>` contents) are refused:
 * a repository serves only what its application registered. `unload_dependents` is accepted (no model here has
 * dependents). Other keys are ignored, as Triton ignores them.
 */
function parameters(body: Record<string, unknown>, action: 'load' | 'unload'): void {
  const p = body.parameters;
  if (p === undefined) return;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) {
    throw new ModelshipError('INVALID_ARGUMENT', "Unable to parse 'parameters': send a JSON object of parameters.");
  }
  if (action === 'load' && Object.keys(p).some((k) => k === 'config' || k.startsWith('file:'))) {
    throw new ModelshipError(
      'INVALID_ARGUMENT',
      'The "config" and "file:" load parameters are not supported: models load as the application registered them.',
    );
  }
}

/**
 * A failed load as the client sees it, in Triton's words: the code and status stay, but the loader's message
 * can name a file or the registry's cache, so it goes to the server log (as the cause) only.
 */
function loadFailure(error: unknown, name: string): ModelshipError {
  const e = toModelshipError(error, 'MODEL_LOAD_FAILED');
  if (e.code === 'MODEL_NOT_FOUND' || e.code === 'SERVER_BUSY' || e.code === 'NOT_READY') return e;
  return new ModelshipError(e.code, `failed to load '${name}', ${e.code}; the server log has the details.`, {
    cause: e,
    httpStatus: e.httpStatus,
  });
}
