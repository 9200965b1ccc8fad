import { ModelshipError } from '../../errors/index.js';

/** A parsed DVC model registry (GTO) reference. */
export type DvcRef =
  | { readonly name: string; readonly kind: 'latest' }
  | { readonly name: string; readonly kind: 'version'; readonly version: string }
  | { readonly name: string; readonly kind: 'stage'; readonly stage: string };

/** GTO's artifact and stage names: lower-case letters, digits, `-` and `/` inside (`check_name_is_valid`). */
export const GTO_NAME = /^[a-z0-9]([a-z0-9\-/]*[a-z0-9])?$/;
/** GTO's versions: SemVer with a leading `v` (`v1.2.3`, pre-release and build allowed). */
export const GTO_VERSION =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** True for a valid GTO artifact or stage name. */
export function isGtoName(name: string): boolean {
  return typeof name === 'string' && name.length <= 200 && GTO_NAME.test(name) && !name.includes('//');
}

/**
 * Parses `dvc:<name>` (the newest version), `dvc:<name>@latest`, `dvc:<name>@v1.2.3` (a version tag) and
 * `dvc:<name>#<stage>` (the version the stage is assigned to; a stage is an alias), and the same without `dvc:`.
 */
export function parseDvcRef(ref: string): DvcRef {
  const bad = (why: string): ModelshipError =>
    new ModelshipError(
      'INVALID_REF',
      `Invalid DVC model reference ${JSON.stringify(typeof ref === 'string' ? ref.slice(0, 200) : ref)}: ${why}. Use dvc:<name>, dvc:<name>@v1.2.3 or dvc:<name>#<stage>.`,
    );
  if (typeof ref !== 'string' || ref.trim() === '') throw bad('empty');
  const body = ref.startsWith('dvc:') ? ref.slice(4) : ref;
  const hash = body.indexOf('#');
  if (hash >= 0) {
    const name = body.slice(0, hash);
    const stage = body.slice(hash + 1);
    if (!isGtoName(name)) throw bad('bad artifact name (GTO names use a-z, 0-9, "-" and "/")');
    if (!isGtoName(stage) || stage.includes('/')) throw bad('bad stage name (a-z, 0-9 and "-")');
    return { name, kind: 'stage', stage };
  }
  const at = body.lastIndexOf('@');
  const name = at >= 0 ? body.slice(0, at) : body;
  if (!isGtoName(name)) throw bad('bad artifact name (GTO names use a-z, 0-9, "-" and "/")');
  if (at < 0) return { name, kind: 'latest' };
  const version = body.slice(at + 1);
  if (version === 'latest') return { name, kind: 'latest' };
  if (!GTO_VERSION.test(version)) throw bad(`${JSON.stringify(version.slice(0, 40))} is not a version such as v1.2.3`);
  return { name, kind: 'version', version };
}

/** Compares two GTO versions (`v1.2.3`, `v1.2.3-rc.1`) by SemVer precedence. */
export function compareVersions(a: string, b: string): number {
  const pa = GTO_VERSION.exec(a);
  const pb = GTO_VERSION.exec(b);
  if (pa === null || pb === null) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  const ra = pa[4];
  const rb = pb[4];
  if (ra === undefined || rb === undefined) return ra === rb ? 0 : ra === undefined ? 1 : -1;
  const xa = ra.split('.');
  const xb = rb.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const u = xa[i];
    const w = xb[i];
    if (u === undefined) return -1;
    if (w === undefined) return 1;
    const nu = /^\d+$/.test(u);
    const nw = /^\d+$/.test(w);
    if (nu && nw && Number(u) !== Number(w)) return Number(u) - Number(w);
    if (nu !== nw) return nu ? -1 : 1;
    if (u !== w) return u < w ? -1 : 1;
  }
  return 0;
}

/** The next patch version after `current` (GTO's default bump), `v0.0.1` for the first. */
export function nextVersion(current: string | undefined): string {
  const m = current === undefined ? null : GTO_VERSION.exec(current);
  if (m === null) return 'v0.0.1';
  return m[4] === undefined ? `v${m[1]}.${m[2]}.${Number(m[3]) + 1}` : `v${m[1]}.${m[2]}.${m[3]}`;
}
