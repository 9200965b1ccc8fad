import { compareVersions, GTO_VERSION, isGtoName } from './ref.js';

/** One version of an artifact: its `name@vX.Y.Z` tag. */
export interface GtoVersion {
  readonly version: string;
  readonly tag: string;
  /** The commit the tag points at (peeled). */
  readonly commit: string;
  /** ISO-8601 time of the tag (the tagger date of an annotated tag). */
  readonly createdAt: string;
}

/** What the tags say about one artifact. */
export interface GtoArtifact {
  readonly name: string;
  /** Oldest first (SemVer order). */
  readonly versions: GtoVersion[];
  /** Stage → version, after replaying assignments and unassignments in order. */
  readonly stages: Map<string, string>;
  /** Highest `#N` counter used by the artifact's stage tags (GTO numbers them per artifact). */
  readonly lastStageNumber: number;
}

/** One parsed tag listing line. */
export interface TagLine {
  readonly tag: string;
  readonly commit: string;
  /** Seconds since the epoch. */
  readonly time: number;
}

type Event = { stage: string; commit: string; time: number; n: number; unassign: boolean };

/** `git for-each-ref` format of {@link parseTagListing}: name, object, peeled object, tagger or committer time. */
export const TAG_FORMAT = '%(refname:strip=2)%00%(objectname)%00%(*objectname)%00%(creatordate:unix)';

/** Parses the output of `git for-each-ref refs/tags --format=<TAG_FORMAT>`. */
export function parseTagListing(text: string): TagLine[] {
  const lines: TagLine[] = [];
  for (const line of text.split('\n')) {
    const [tag, object, peeled, time] = line.split('\0');
    if (tag === undefined || object === undefined || time === undefined) continue;
    const commit = peeled !== undefined && peeled !== '' ? peeled : object;
    if (!/^[0-9a-f]{40,64}$/.test(commit)) continue;
    lines.push({ tag, commit, time: Number(time) || 0 });
  }
  return lines;
}

/**
 * Builds the registry state from tags as GTO does: `name@v1.2.3` registers a version; `name#stage#N` assigns the
 * stage to the version registered on the same commit, `name#stage!#N` unassigns it, and the latest event per
 * stage wins (by tag time, then by N). Tags that are not GTO tags are ignored.
 */
export function buildArtifacts(tags: readonly TagLine[]): Map<string, GtoArtifact> {
  const versions = new Map<string, GtoVersion[]>();
  const events = new Map<string, Event[]>();
  for (const t of tags) {
    const hash = t.tag.indexOf('#');
    if (hash < 0) {
      const at = t.tag.lastIndexOf('@');
      if (at <= 0) continue;
      const name = t.tag.slice(0, at);
      const version = t.tag.slice(at + 1);
      if (!isGtoName(name) || !GTO_VERSION.test(version)) continue;
      const list = versions.get(name) ?? [];
      list.push({ version, tag: t.tag, commit: t.commit, createdAt: new Date(t.time * 1000).toISOString() });
      versions.set(name, list);
      continue;
    }
    const parts = t.tag.split('#');
    const [name = '', rawStage = '', number] = parts;
    if (parts.length > 3 || !isGtoName(name)) continue;
    const unassign = rawStage.endsWith('!');
    const stage = unassign ? rawStage.slice(0, -1) : rawStage;
    if (!isGtoName(stage) || (number !== undefined && !/^\d{1,9}$/.test(number))) continue;
    const list = events.get(name) ?? [];
    list.push({ stage, commit: t.commit, time: t.time, n: number === undefined ? 0 : Number(number), unassign });
    events.set(name, list);
  }
  const out = new Map<string, GtoArtifact>();
  for (const [name, list] of versions) {
    list.sort((a, b) => compareVersions(a.version, b.version));
    const byCommit = new Map<string, string>();
    for (const v of list) byCommit.set(v.commit, v.version); // the highest version on a commit wins
    const stages = new Map<string, string>();
    const evs = (events.get(name) ?? []).sort((a, b) => a.time - b.time || a.n - b.n);
    for (const e of evs) {
      if (e.unassign) stages.delete(e.stage);
      else {
        const version = byCommit.get(e.commit);
        if (version !== undefined) stages.set(e.stage, version);
      }
    }
    out.set(name, { name, versions: list, stages, lastStageNumber: Math.max(0, ...evs.map((e) => e.n)) });
  }
  for (const [name, evs] of events)
    if (!out.has(name))
      out.set(name, { name, versions: [], stages: new Map(), lastStageNumber: Math.max(0, ...evs.map((e) => e.n)) });
  return out;
}

/** The stages currently assigned to `version`, sorted. */
export function stagesOf(artifact: GtoArtifact, version: string): string[] {
  return [...artifact.stages]
    .filter(([, v]) => v === version)
    .map(([s]) => s)
    .sort();
}

/** GTO's annotation of a version tag. */
export const registerMessage = (name: string, version: string): string =>
  `Registering artifact ${name} version ${version}`;
/** GTO's annotation of a stage assignment tag. */
export const assignMessage = (name: string, version: string, stage: string): string =>
  `Assigning stage ${stage} to artifact ${name} version ${version}`;
/** GTO's annotation of a stage unassignment tag. */
export const unassignMessage = (name: string, version: string, stage: string): string =>
  `Unassigning stage '${stage}' from artifact '${name}' version '${version}'`;
