import type { ModelTable } from './model-table.js';
import { methodNotAllowed } from './responses.js';

/** What a route receives. */
export interface RouteContext {
  readonly request: Request;
  readonly method: string;
  /** Path segments after the base path, URL-decoded. */
  readonly segments: readonly string[];
  readonly table: ModelTable;
  readonly maxBodyBytes: number;
  /** Reads and parses the JSON body within the size limit. */
  body(): Promise<unknown>;
}

/** Throws 405 unless the method is one of `allow` (HEAD counts as GET). */
export function requireMethod(ctx: RouteContext, ...allow: string[]): void {
  const method = ctx.method === 'HEAD' && allow.includes('GET') ? 'GET' : ctx.method;
  if (!allow.includes(method)) throw methodNotAllowed(ctx.method, allow);
}

