/**
 * W&B artifacts, as the public GraphQL API serves them: `project(name, entityName) { artifact(name: "coll:alias"|"coll:v3") }`
 * (null when absent), `artifactCollection(name) { artifacts(first, after) }` with cursors, `artifact.files` with
 * base64-MD5 `digest` and a signed `directUrl`, and the publish mutations `createArtifact`, `createArtifactFiles`,
 * `createArtifactManifest` (returning signed upload URLs), `commitArtifact`, `addAliases` and `deleteAliases`.
 * Versions are numbered from v0; `latest` follows the newest committed version; an alias is unique in a collection.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface StoredArtifact {
  id: string;
  entity: string;
  project: string;
  collection: string;
  type: string;
  versionIndex: number;
  state: 'PENDING' | 'COMMITTED';
  digest: string;
  description: string | null;
  metadata: string;
  createdAt: string;
  aliases: Set<string>;
  /** Aliases requested at creation, applied at commit. */
  pendingAliases: string[];
  /** name → { md5 (base64), storage key }. */
  files: Map<string, { md5: string; key: string }>;
  manifestKey?: string;
}

export interface ArtifactState {
  artifacts: StoredArtifact[];
  /** Storage objects by key (uploads land here, downloads read here). */
  blobs: Map<string, Buffer>;
  /** Upload keys accepted, with the MD5 they must match. */
  uploads: Map<string, string | undefined>;
  /** The secret part of signed URLs; tests check it never shows up in error messages. */
  signature: string;
  /** Cap on `first:` for pages (the real API pages at 50–100). */
  pageLimit: number;
}

export function createArtifactState(): ArtifactState {
  return {
    artifacts: [],
    blobs: new Map(),
    uploads: new Map(),
    signature: randomBytes(8).toString('hex'),
    pageLimit: 50,
  };
}

type Result = { status: number; body: unknown } | undefined;
const ok = (data: unknown): Result => ({ status: 200, body: { data } });
const gqlError = (message: string, path: string[], data: unknown = null): Result => ({
  status: 200,
  body: { errors: [{ message, path, locations: [{ line: 2, column: 3 }] }], data },
});

function node(a: StoredArtifact): Record<string, unknown> {
  return {
    id: a.id,
    digest: a.digest,
    versionIndex: a.versionIndex,
    state: a.state,
    description: a.description,
    metadata: a.metadata,
    createdAt: a.createdAt,
    size: [...a.files.values()].length,
    aliases: [...a.aliases].map((alias) => ({ alias, artifactCollection: { name: a.collection } })),
    artifactType: { name: a.type },
    artifactSequence: { name: a.collection },
  };
}

function page<T>(
  items: T[],
  after: unknown,
  first: unknown,
  limit: number,
): { edges: { node: T; cursor: string }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } {
  const start = typeof after === 'string' && after !== '' ? Number(Buffer.from(after, 'base64').toString()) + 1 : 0;
  const size = Math.min(typeof first === 'number' ? first : limit, limit);
  const slice = items.slice(start, start + size);
  const edges = slice.map((n, i) => ({ node: n, cursor: Buffer.from(String(start + i)).toString('base64') }));
  return { edges, pageInfo: { endCursor: edges.at(-1)?.cursor ?? null, hasNextPage: start + size < items.length } };
}

/** Answers the artifact operations; `undefined` for others. `url` is the server's own URL for signed links. */
export function artifactGraphql(
  state: ArtifactState,
  url: string,
  operation: string | undefined,
  v: Record<string, unknown>,
): Result {
  const committed = (entity: unknown, project: unknown, collection: string): StoredArtifact[] =>
    state.artifacts
      .filter(
        (a) => a.entity === entity && a.project === project && a.collection === collection && a.state === 'COMMITTED',
      )
      .sort((a, b) => a.versionIndex - b.versionIndex);
  const projectExists = (entity: unknown, project: unknown): boolean =>
    state.artifacts.some((a) => a.entity === entity && a.project === project);
  const find = (entity: unknown, project: unknown, name: string): StoredArtifact | undefined => {
    const i = name.lastIndexOf(':');
    const [coll, sel] = i < 0 ? [name, 'latest'] : [name.slice(0, i), name.slice(i + 1)];
    const versions = committed(entity, project, coll);
    const m = /^v(\d+)$/.exec(sel);
    return m ? versions.find((a) => a.versionIndex === Number(m[1])) : versions.find((a) => a.aliases.has(sel));
  };
  const signed = (key: string): string =>
    `${url}/wandb-storage/${key}?X-Amz-Expires=3600&X-Amz-Signature=${state.signature}`;

  switch (operation) {
    case 'ArtifactByName':
    case 'ArtifactFiles': {
      if (!projectExists(v.entityName, v.projectName)) return ok({ project: null });
      const a = find(v.entityName, v.projectName, String(v.name));
      if (operation === 'ArtifactByName') return ok({ project: { artifact: a === undefined ? null : node(a) } });
      if (a === undefined) return ok({ project: { artifact: null } });
      const files = [...a.files].map(([name, f]) => ({
        id: `${a.id}:${name}`,
        name,
        sizeBytes: state.blobs.get(f.key)?.byteLength ?? 0,
        digest: f.md5,
        md5: f.md5,
        directUrl: signed(f.key),
      }));
      return ok({ project: { artifact: { files: page(files, v.cursor, v.perPage, state.pageLimit) } } });
    }
    case 'ArtifactCollection': {
      if (!projectExists(v.entityName, v.projectName)) return ok({ project: null });
      const versions = committed(v.entityName, v.projectName, String(v.name));
      if (versions.length === 0) return ok({ project: { artifactCollection: null } });
      return ok({
        project: {
          artifactCollection: {
            id: `coll:${String(v.name)}`,
            name: v.name,
            artifacts: page(versions.map(node), v.cursor, v.perPage, state.pageLimit),
          },
        },
      });
    }
    case 'CreateArtifact': {
      const input = (v.input ?? {}) as Record<string, unknown>;
      const { entityName, projectName, artifactCollectionName: coll } = input;
      if (
        typeof entityName !== 'string' ||
        typeof projectName !== 'string' ||
        typeof coll !== 'string' ||
        typeof input.artifactTypeName !== 'string'
      ) {
        return gqlError('entityName, projectName, artifactTypeName and artifactCollectionName are required', [
          'createArtifact',
        ]);
      }
      const existing = state.artifacts.filter(
        (a) => a.entity === entityName && a.project === projectName && a.collection === coll,
      );
      if (existing.some((a) => a.type !== input.artifactTypeName))
        return gqlError(`artifact collection ${coll} already exists with another type`, ['createArtifact']);
      const a: StoredArtifact = {
        id: Buffer.from(`Artifact:${randomBytes(6).toString('hex')}`).toString('base64'),
        entity: entityName,
        project: projectName,
        collection: coll,
        type: input.artifactTypeName,
        versionIndex: existing.length,
        state: 'PENDING',
        digest: String(input.digest ?? ''),
        description: (input.description as string | null) ?? null,
        metadata: typeof input.metadata === 'string' ? input.metadata : '{}',
        createdAt: new Date().toISOString(),
        aliases: new Set(),
        pendingAliases: ((input.aliases ?? []) as { alias: string }[]).map((x) => x.alias),
        files: new Map(),
      };
      state.artifacts.push(a);
      return ok({
        createArtifact: { artifact: { id: a.id, state: a.state, versionIndex: a.versionIndex, digest: a.digest } },
      });
    }
    case 'CreateArtifactFiles': {
      const input = (v.input ?? {}) as { artifactFiles?: { artifactID: string; name: string; md5: string }[] };
      const edges = [];
      for (const f of input.artifactFiles ?? []) {
        const a = state.artifacts.find((x) => x.id === f.artifactID);
        if (a === undefined) return gqlError(`artifact ${f.artifactID} not found`, ['createArtifactFiles']);
        const key = `${a.entity}/${a.project}/${createHash('sha256').update(`${a.id}/${f.name}`).digest('hex')}`;
        a.files.set(f.name, { md5: f.md5, key });
        state.uploads.set(key, f.md5);
        edges.push({
          node: {
            id: `${a.id}:${f.name}`,
            name: f.name,
            uploadUrl: signed(key),
            uploadHeaders: [`Content-MD5:${f.md5}`],
            artifact: { id: a.id },
          },
        });
      }
      return ok({ createArtifactFiles: { files: { edges } } });
    }
    case 'CreateArtifactManifest': {
      const input = (v.input ?? {}) as { artifactID?: string; name?: string };
      const a = state.artifacts.find((x) => x.id === input.artifactID);
      if (a === undefined)
        return gqlError(`artifact ${String(input.artifactID)} not found`, ['createArtifactManifest']);
      a.manifestKey = `${a.entity}/${a.project}/manifests/${a.id}/${input.name ?? 'wandb_manifest.json'}`;
      state.uploads.set(a.manifestKey, undefined);
      return ok({
        createArtifactManifest: {
          artifactManifest: {
            id: `${a.id}:manifest`,
            file: { id: a.manifestKey, name: input.name, uploadUrl: signed(a.manifestKey), uploadHeaders: [] },
          },
        },
      });
    }
    case 'CommitArtifact': {
      const input = (v.input ?? {}) as { artifactID?: string };
      const a = state.artifacts.find((x) => x.id === input.artifactID);
      if (a === undefined) return gqlError(`artifact ${String(input.artifactID)} not found`, ['commitArtifact']);
      const missing = [...a.files.values()].filter((f) => !state.blobs.has(f.key));
      if (missing.length > 0 || a.manifestKey === undefined || !state.blobs.has(a.manifestKey))
        return gqlError('cannot commit artifact: files or manifest not uploaded', ['commitArtifact']);
      a.state = 'COMMITTED';
      for (const other of committed(a.entity, a.project, a.collection)) other.aliases.delete('latest');
      for (const alias of [...a.pendingAliases, 'latest']) moveAlias(a, alias);
      return ok({ commitArtifact: { artifact: { id: a.id, digest: a.digest, versionIndex: a.versionIndex } } });
    }
    case 'AddAliases':
    case 'DeleteAliases': {
      const input = (v.input ?? {}) as {
        artifactID?: string;
        aliases?: { alias: string; artifactCollectionName: string }[];
      };
      const a = state.artifacts.find((x) => x.id === input.artifactID && x.state === 'COMMITTED');
      if (a === undefined)
        return gqlError(`artifact ${String(input.artifactID)} not found`, [
          operation === 'AddAliases' ? 'addAliases' : 'deleteAliases',
        ]);
      for (const { alias } of input.aliases ?? []) {
        if (operation === 'AddAliases') moveAlias(a, alias);
        else a.aliases.delete(alias);
      }
      return ok({ [operation === 'AddAliases' ? 'addAliases' : 'deleteAliases']: { success: true } });
    }
    default:
      return undefined;
  }

  function moveAlias(a: StoredArtifact, alias: string): void {
    for (const other of state.artifacts)
      if (other.entity === a.entity && other.project === a.project && other.collection === a.collection)
        other.aliases.delete(alias);
    a.aliases.add(alias);
  }
}

/** Serves signed storage URLs: PUT (checks Content-MD5 when the file has one) and GET. Without the signature: 403. */
export function artifactStorage(
  state: ArtifactState,
  method: string,
  key: string,
  signature: string | null,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): Result {
  if (signature !== state.signature)
    return { status: 403, body: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>' };
  if (method === 'PUT') {
    if (!state.uploads.has(key)) return { status: 403, body: '<Error><Code>AccessDenied</Code></Error>' };
    const md5 = state.uploads.get(key);
    const actual = createHash('md5').update(body).digest('base64');
    if (md5 !== undefined && (headers['content-md5'] !== md5 || actual !== md5))
      return { status: 400, body: '<Error><Code>BadDigest</Code></Error>' };
    state.blobs.set(key, body);
    return { status: 200, body: '' };
  }
  const blob = state.blobs.get(key);
  return blob === undefined
    ? { status: 404, body: '<Error><Code>NoSuchKey</Code></Error>' }
    : { status: 200, body: blob };
}
