/**
 * Builds dist/ once before the tests that use the package as users get it (exports, examples), and only when
 * a source file is newer than the last build, so tests never rebuild dist under each other's feet; and trains
 * the tests' MNIST model once for the run.
 */
import { ensureBuilt } from '../examples/shared/ensure-built.js';
import { tinyMnist } from './helpers/models.js';

export default async function setup(): Promise<void> {
  await ensureBuilt();
  // Each test file then reads the model from its cache file instead of training it again.
  tinyMnist();
}
