/**
 * Builds dist/ once before the tests that use the package as users get it (exports, examples), and only when
 * a source file is newer than the last build, so tests never rebuild dist under each other's feet.
 */
import { ensureBuilt } from '../examples/shared/ensure-built.js';

export default async function setup(): Promise<void> {
  await ensureBuilt();
}
