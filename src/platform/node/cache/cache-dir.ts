import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where downloaded models are cached: `dir` when given, else `$MODELSHIP_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/modelship`, else `~/.cache/modelship`.
 */
export function defaultCacheDir(dir?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (dir !== undefined && dir !== '') return resolve(dir);
  if (env.MODELSHIP_CACHE_DIR) return resolve(env.MODELSHIP_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return resolve(env.XDG_CACHE_HOME, 'modelship');
  return join(homedir(), '.cache', 'modelship');
}
