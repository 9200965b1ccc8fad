import { isPathRef } from '../../core/ref.js';
import { ModelshipError, toModelshipError } from '../../errors/index.js';
import type { Deployment, DeploymentStatus } from '../../routing/index.js';
import type { Servable } from '../../serving/servable.js';
import type { OutboundResponse } from '../exchange.js';
import { json } from '../responses.js';
import { requireMethod, type RouteContext } from '../route-context.js';

const encoder = new TextEncoder();

/**
 * Compares a presented token with the expected one in time independent of where they differ: both are hashed
 * first (equal lengths, and nothing about the secret's length leaks), then every byte is compared.
 */
export async function tokensMatch(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all(
    [presented, expected].map(
      async (t) => new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', encoder.encode(t))),
    ),
  );
  let diff = 0;
  for (let i = 0; i < (a as Uint8Array).length; i++)
    diff |= ((a as Uint8Array)[i] as number) ^ ((b as Uint8Array)[i] as number);
  return diff === 0;
}

function isDeployment(model: Servable): model is Deployment {
  return (model as Partial<Deployment>).kind === 'deployment';
}

async function authorize(ctx: RouteContext, token: string): Promise<void> {
  const header = ctx.request.header('authorization') ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m === null || !(await tokensMatch(m[1] as string, token))) {
    throw new ModelshipError(
      'UNAUTHORIZED',
      'The admin routes need "Authorization: Bearer <token>" with the token given to createHandler({ admin }).',
    );
  }
}

/**
 * `GET /admin/deployments/{name}` (status) and `POST /admin/deployments/{name}` with
 * `{"action": "promote" | "rollback" | "weights" | "switch", "weight"?, "ref"?}`. Every path under `/admin`
 * answers 401 without the bearer token, before anything else is looked at. `switch` takes only a version or
 * alias of the deployment's own model (`"2"`, `"mnist/2"`, `"mnist@candidate"`); INVALID_REF otherwise.
 */
export async function handleAdmin(ctx: RouteContext, token: string): Promise<OutboundResponse | undefined> {
  await authorize(ctx, token);
  const [, kind, name] = ctx.segments;
  if (kind !== 'deployments' || ctx.segments.length > 3) return undefined;
  if (name === undefined) {
    requireMethod(ctx, 'GET');
    return json({ deployments: ctx.table.all.filter(isDeployment).map((d) => shown(d.status())) });
  }
  const model = ctx.table.get(name);
  if (!isDeployment(model))
    throw new ModelshipError(
      'MODEL_NOT_FOUND',
      `"${name}" is a model, not a deployment; admin routes manage deployments.`,
    );
  requireMethod(ctx, 'GET', 'POST');
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return json(shown(model.status()));
  const body = (await ctx.body()) as { action?: unknown; weight?: unknown; ref?: unknown } | null;
  const action = typeof body === 'object' && body !== null ? body.action : undefined;
  if (action === 'promote') return json(shown(await model.promote()));
  if (action === 'rollback') return json(shown(await model.rollback()));
  if (action === 'weights') return json(shown(await model.setWeight(body?.weight as number)));
  if (action === 'switch') {
    // Only versions of the deployment's own model: the rest (paths, URLs) would read files or fetch URLs for the caller.
    const ref = model.ownVersionRef(body?.ref);
    try {
      return json(shown(await model.switchTo(ref)));
    } catch (error) {
      throw switchFailure(error, ref, model);
    }
  }
  throw new ModelshipError(
    'INVALID_INPUT',
    'The body must be {"action": "promote" | "rollback" | "weights" (with "weight": 0–1) | "switch" (with "ref": "2", "name/2" or "name@alias")}.',
  );
}

/** Refs as an operator may see them: a file a version was loaded from (by the application) shows as its name only. */
function shown(status: DeploymentStatus): DeploymentStatus {
  const hide = <T extends { ref: string } | undefined>(v: T): T =>
    v !== undefined && isPathRef(v.ref) ? { ...v, ref: `file:${v.ref.split(/[\\/]/).pop() ?? ''}` } : v;
  return {
    ...status,
    stable: hide(status.stable),
    canary: hide(status.canary),
    shadow: hide(status.shadow),
    previous: hide(status.previous),
  };
}

const NOT_FOUND = new Set(['MODEL_NOT_FOUND', 'VERSION_NOT_FOUND', 'ALIAS_NOT_FOUND']);

/**
 * A refused switch as the admin client sees it: the code and status stay, but registry and loader messages can
 * name the registry's directory or cache (MODEL_NOT_FOUND lists the registry root), so only messages built from
 * signatures and versions are passed on; the deployment has logged the full error.
 */
function switchFailure(error: unknown, ref: string, deployment: Deployment): ModelshipError {
  const e = toModelshipError(error, 'MODEL_LOAD_FAILED');
  if (
    e.code === 'INCOMPATIBLE_SIGNATURE' ||
    e.code === 'NOT_READY' ||
    (e.code === 'VALIDATION_FAILED' && e.cause === undefined)
  )
    return e;
  const what = NOT_FOUND.has(e.code)
    ? `The registry of deployment ${deployment.name} has no ${ref}`
    : `Switching deployment ${deployment.name} to ${ref} failed (${e.code})`;
  return new ModelshipError(
    e.code,
    `${what}; version ${deployment.version} keeps serving. The server log has the details.`,
  );
}
