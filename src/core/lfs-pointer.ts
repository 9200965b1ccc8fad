import { ModelshipError } from '../errors/index.js';

/** A Git LFS pointer file: what a checkout without `git lfs pull` leaves in place of the real content. */
export interface LfsPointer {
  /** `sha256:<64 hex>`. */
  readonly oid: string;
  readonly size: number;
}

/** What {@link detectUnresolvedPointer} found in place of a model. */
export type UnresolvedPointer =
  ({ readonly kind: 'git-lfs' } & LfsPointer) | { readonly kind: 'dvc'; readonly md5?: string; readonly path?: string };

// Pointers are tiny text files (the LFS spec caps them at 1024 bytes); a real model never is.
const MAX_POINTER_BYTES = 1024;
const LFS_VERSION = /^version https:\/\/(git-lfs\.github\.com\/spec\/v1|hawser\.github\.com\/spec\/v1)\n/;

function asText(bytes: Uint8Array): string | undefined {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_POINTER_BYTES) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Parses a Git LFS pointer (`version …\noid sha256:…\nsize …\n`); `undefined` for anything else. Accepts CRLF
 * line endings, which a checkout on Windows may produce.
 */
export function parseLfsPointer(text: string): LfsPointer | undefined {
  const normalized = text.replace(/\r\n/g, '\n');
  if (!LFS_VERSION.test(normalized)) return undefined;
  const oid = /^oid (sha256:[0-9a-f]{64})$/m.exec(normalized)?.[1];
  const size = /^size (\d+)$/m.exec(normalized)?.[1];
  if (oid === undefined || size === undefined) return undefined;
  return { oid, size: Number(size) };
}

/**
 * Recognizes a file that stands in for a model instead of being one: a Git LFS pointer, or DVC metadata
 * (a `.dvc` file's YAML, `outs:` with an `md5`). Pure and cheap: files over 1 KiB are never pointers.
 */
export function detectUnresolvedPointer(bytes: Uint8Array): UnresolvedPointer | undefined {
  const text = asText(bytes);
  if (text === undefined) return undefined;
  const lfs = parseLfsPointer(text);
  if (lfs !== undefined) return { kind: 'git-lfs', ...lfs };
  if (/^outs:\s*$/m.test(text) && /^\s*-?\s*(md5|hash):/m.test(text)) {
    const md5 = /md5:\s*([0-9a-f]{32})/.exec(text)?.[1];
    const path = /path:\s*(\S+)/.exec(text)?.[1];
    return { kind: 'dvc', ...(md5 === undefined ? {} : { md5 }), ...(path === undefined ? {} : { path }) };
  }
  return undefined;
}

/** The UNRESOLVED_POINTER error for `pointer` found at `ref`, saying how to fetch the real file. */
export function unresolvedPointerError(ref: string, pointer: UnresolvedPointer): ModelshipError {
  if (pointer.kind === 'git-lfs') {
    return new ModelshipError(
      'UNRESOLVED_POINTER',
      `The model file for ${JSON.stringify(ref)} is a Git LFS pointer (oid ${pointer.oid}, ${pointer.size} bytes), not the model: the repository was cloned without its LFS objects. Run \`git lfs install && git lfs pull\` (or \`git lfs pull --include=<path>\`) in the repository, then load again.`,
      { details: { pointer: 'git-lfs', oid: pointer.oid, size: pointer.size } },
    );
  }
  return new ModelshipError(
    'UNRESOLVED_POINTER',
    `The model file for ${JSON.stringify(ref)} is DVC metadata${pointer.path === undefined ? '' : ` for ${pointer.path}`}${pointer.md5 === undefined ? '' : ` (md5 ${pointer.md5})`}, not the model. Run \`dvc pull\` (or \`dvc checkout\` when the cache has it) in the repository, then load the file it restores.`,
    {
      details: {
        pointer: 'dvc',
        ...(pointer.md5 === undefined ? {} : { md5: pointer.md5 }),
        ...(pointer.path === undefined ? {} : { path: pointer.path }),
      },
    },
  );
}

/** Throws UNRESOLVED_POINTER when `bytes` are a Git LFS pointer or DVC metadata instead of a model. */
export function assertNotPointer(bytes: Uint8Array, ref: string): void {
  const pointer = detectUnresolvedPointer(bytes);
  if (pointer !== undefined) throw unresolvedPointerError(ref, pointer);
}
