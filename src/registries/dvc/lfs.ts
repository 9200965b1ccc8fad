import { ModelshipError } from '../../errors/index.js';
import type { ModelFile } from '../../platform/model-store.js';
import { createHttpClient, type HttpClientConfig } from '../../platform/node/http-client.js';
import { statusError, withRetryAfter } from '../../platform/node/http-errors.js';
import type { ResolvedModel } from '../../spec/registry.js';
import { parseDvcConfig } from './dvc-project.js';
import type { GitMirror } from './git-mirror.js';

/** The LFS server of a repository URL, as git-lfs derives it: `https://host/org/repo.git/info/lfs`. */
export function defaultLfsUrl(repo: string): string | undefined {
  const scp = /^[\w.-]+@([\w.-]+):(.+)$/.exec(repo);
  const http = /^(?:https?|ssh|git):\/\/(?:[^@/]+@)?([^/:]+)(?::\d+)?\/(.+)$/i.exec(repo);
  const m = scp ?? http;
  if (m === null) return undefined;
  const path = (m[2] as string).replace(/\/+$/, '');
  const scheme = repo.toLowerCase().startsWith('http://') ? 'http' : 'https';
  const port = repo.toLowerCase().startsWith('http') ? (/^https?:\/\/[^/]*?(:\d+)\//i.exec(repo)?.[1] ?? '') : '';
  return `${scheme}://${m[1]}${port}/${path.endsWith('.git') ? path : `${path}.git`}/info/lfs`;
}

type BatchObject = {
  oid?: unknown;
  size?: unknown;
  actions?: { download?: { href?: unknown; header?: unknown } };
  error?: { code?: unknown; message?: unknown };
};

/**
 * Locates a Git LFS object through the LFS batch API (`POST <lfs>/objects/batch`, operation `download`, transfer
 * `basic`): the download action's `href` and `header` become the file the cache downloads and checks by sha256.
 * The server is `lfs.url` from options, else `.lfsconfig` at the tag's commit, else derived from the repo URL.
 */
export function createLfsLocator(
  mirror: GitMirror,
  repo: string,
  options: { readonly url?: string | undefined; readonly headers?: Record<string, string> | undefined } | undefined,
  http: HttpClientConfig,
): (model: ResolvedModel, signal?: AbortSignal) => Promise<ModelFile> {
  const client = createHttpClient({ ...http, headers: { ...http.headers, ...options?.headers } });
  return async (model, signal) => {
    const [, commit = '', ...rest] = model.location.split(':');
    const path = rest.join(':');
    const oid = model.sha256;
    if (oid === undefined || model.size === undefined)
      throw new ModelshipError(
        'INVALID_ARGUMENT',
        'This LFS model has no oid; resolve it again with the same registry.',
      );
    const config = await mirror.read(commit, '.lfsconfig', signal);
    const base =
      options?.url ??
      (config === undefined ? undefined : parseDvcConfig(config.toString('utf8')).get('lfs')?.get('url')) ??
      defaultLfsUrl(repo);
    if (base === undefined || !/^https?:\/\//i.test(base))
      throw new ModelshipError(
        'INVALID_OPTIONS',
        `${path} at ${model.version} is a Git LFS pointer, and no LFS server is known for this repository; pass { lfs: { url: 'https://host/org/repo.git/info/lfs' } }.`,
      );
    const url = `${base.replace(/\/+$/, '')}/objects/batch`;
    const what = `asking the Git LFS server for ${model.name} ${model.version}`;
    const object = await client.send(
      {
        method: 'POST',
        url,
        what,
        signal,
        headers: { accept: 'application/vnd.git-lfs+json', 'content-type': 'application/vnd.git-lfs+json' },
        body: JSON.stringify({
          operation: 'download',
          transfers: ['basic'],
          objects: [{ oid, size: model.size }],
          hash_algo: 'sha256',
        }),
        limit: 1024 * 1024,
      },
      (reply) => {
        if (reply.status !== 200) throw withRetryAfter(statusError(reply.status, what), reply.retryAfterMs);
        let body: { objects?: BatchObject[] };
        try {
          body = JSON.parse(reply.text) as { objects?: BatchObject[] };
        } catch (error) {
          throw new ModelshipError('REGISTRY_UNAVAILABLE', `The Git LFS server answered non-JSON while ${what}.`, {
            cause: error,
            retryable: false,
          });
        }
        const found = body.objects?.find((o) => o.oid === oid);
        if (found === undefined)
          throw new ModelshipError('REGISTRY_UNAVAILABLE', `The Git LFS server left out the object while ${what}.`, {
            retryable: false,
          });
        return found;
      },
    );
    if (object.error !== undefined) {
      const code = Number(object.error.code);
      throw new ModelshipError(
        code === 404 || code === 410
          ? 'MODEL_NOT_FOUND'
          : code === 401 || code === 403
            ? 'REGISTRY_AUTH_FAILED'
            : 'REGISTRY_UNAVAILABLE',
        `The Git LFS server has no content for ${model.name} ${model.version} (${code}: ${String(object.error.message ?? '').slice(0, 200)}); run git lfs push --all in the model repository.`,
        { details: { lfsCode: code }, retryable: false },
      );
    }
    const href = object.actions?.download?.href;
    const header = object.actions?.download?.header;
    if (typeof href !== 'string' || !/^https?:\/\//i.test(href))
      throw new ModelshipError('REGISTRY_UNAVAILABLE', `The Git LFS server gave no download action while ${what}.`, {
        retryable: false,
      });
    const headers: Record<string, string> = {};
    if (typeof header === 'object' && header !== null)
      for (const [k, v] of Object.entries(header)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    return { url: href, sha256: oid, size: model.size, headers };
  };
}
