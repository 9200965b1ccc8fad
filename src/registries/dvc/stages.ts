import { ModelshipError } from '../../errors/index.js';
import { aliasNotFound, invalidArgument } from '../errors.js';
import type { GitMirror } from './git-mirror.js';
import { assignMessage, unassignMessage } from './gto-tags.js';
import { isGtoName } from './ref.js';

const ATTEMPTS = 4;

function assertStage(stage: string): void {
  if (typeof stage !== 'string' || !isGtoName(stage) || stage.includes('/'))
    throw invalidArgument(`Invalid stage ${JSON.stringify(stage)}: GTO stages use a-z, 0-9 and "-".`);
}

/**
 * Assigns `stage` to `version` (GTO's `name#stage#N` tag on the version's commit), or unassigns it (`name#stage!#N`)
 * when `version` is undefined, and pushes the tag. N is the artifact's next stage number; a push that loses the
 * number to another writer is retried with the next one.
 */
export async function moveStage(
  mirror: GitMirror,
  name: string,
  stage: string,
  version: string | undefined,
  env: Record<string, string>,
): Promise<void> {
  if (!isGtoName(name)) throw invalidArgument(`Invalid artifact name ${JSON.stringify(name)}.`);
  assertStage(stage);
  for (let attempt = 1; ; attempt++) {
    await mirror.sync();
    const artifact = (await mirror.artifacts()).get(name);
    if (artifact === undefined || artifact.versions.length === 0)
      throw new ModelshipError(
        'MODEL_NOT_FOUND',
        `The repository has no artifact ${JSON.stringify(name)} (no ${name}@v… tag).`,
        {
          details: { name },
        },
      );
    const current = artifact.stages.get(stage);
    let tag: string;
    let target;
    let message: string;
    const n = artifact.lastStageNumber + 1;
    if (version === undefined) {
      if (current === undefined) throw aliasNotFound(name, stage, Object.fromEntries(artifact.stages));
      target = artifact.versions.find((v) => v.version === current);
      tag = `${name}#${stage}!#${n}`;
      message = unassignMessage(name, current, stage);
    } else {
      target = artifact.versions.find((v) => v.version === version);
      if (target === undefined)
        throw new ModelshipError(
          'VERSION_NOT_FOUND',
          `Artifact ${JSON.stringify(name)} has no version ${JSON.stringify(version)}; its versions: ${artifact.versions.map((v) => v.version).join(', ')}.`,
          { details: { name, version } },
        );
      if (current === version) return;
      tag = `${name}#${stage}#${n}`;
      message = assignMessage(name, version, stage);
    }
    if (target === undefined) return;
    await mirror.git(['tag', '-a', tag, '-m', message, target.commit], 'tagging a stage', { env });
    try {
      await mirror.git(['push', '--quiet', 'origin', `refs/tags/${tag}`], 'pushing a stage tag');
      return;
    } catch (error) {
      await mirror.git(['tag', '-d', tag], 'dropping an unpushed tag').catch(() => undefined);
      const stderr = (error as ModelshipError).details?.stderr;
      if (attempt < ATTEMPTS && typeof stderr === 'string' && /rejected|already exists/i.test(stderr)) continue;
      throw error;
    }
  }
}
