import { ModelshipError } from '../../errors/index.js';
import type { Deployment } from '../../routing/index.js';
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
  const [a, b] = await Promise.all([presented, expected].map(async (t) => new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', encoder.encode(t)))));
  let diff = 0;
  for (let i = 0; i < (a as Uint8Array).length; i++) diff |= ((a as Uint8Array)[i] as number) ^ ((b as Uint8Array)[i] as number);
  return diff === 0;
}

function isDeployment(model: Servable): model is Deployment {
  return (model as Partial<Deployment>).kind === 'deployment';
}

async function authorize(ctx: RouteContext, token: string): Promise<void> {
  const header = ctx.request.header('authorization') ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m === null || !(await tokensMatch(m[1] as string, token))) {
    throw new ModelshipError('UNAUTHORIZED', 'The admin routes need "Authorization: Bearer <token>" with the token given to createHandler({ admin }).');
  }
}

/**
 * `GET /admin/deployments/{name}` (status) and `POST /admin/deployments/{name}` with
 * `{"action": "promote" | "rollback" | "weights" | "switch", "weight"?, "ref"?}`. Every path under `/admin`
 * answers 401 without the bearer token, before anything else is looked at.
 */
export async function handleAdmin(ctx: RouteContext, token: string): Promise<OutboundResponse | undefined> {
  await authorize(ctx, token);
  const [, kind, name] = ctx.segments;
  if (kind !== 'deployments' || ctx.segments.length > 3) return undefined;
  if (name === undefined) {
    requireMethod(ctx, 'GET');
    return json({ deployments: ctx.table.all.filter(isDeployment).map((d) => d.status()) });
  }
  const model = ctx.table.get(name);
  if (!isDeployment(model)) throw new ModelshipError('MODEL_NOT_FOUND', `"${name}" is a model, not a deployment; admin routes manage deployments.`);
  requireMethod(ctx, 'GET', 'POST');
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return json(model.status());
  const body = (await ctx.body()) as { action?: unknown; weight?: unknown; ref?: unknown } | null;
  const action = typeof body === 'object' && body !== null ? body.action : undefined;
  if (action === 'promote') return json(await model.promote());
  if (action === 'rollback') return json(await model.rollback());
  if (action === 'weights') return json(await model.setWeight(body?.weight as number));
  if (action === 'switch' && typeof body?.ref === 'string') return json(await model.switchTo(body.ref));
  throw new ModelshipError('INVALID_INPUT', 'The body must be {"action": "promote" | "rollback" | "weights" (with "weight": 0–1) | "switch" (with "ref")}.');
}
