import { z } from 'zod';
import { parseOptions } from '../../core/options.js';
import { trackerOptionsShape } from '../tracker-options.js';

/** Options for {@link createLocalTracker}. Strict: a misspelt option fails loudly. */
export const localTrackerOptionsSchema = z.strictObject({
  /** The `mlruns` directory (default `./mlruns`, or the path of a `file:` `$MLFLOW_TRACKING_URI`). */
  root: z.string().min(1).optional(),
  /**
   * Where calls are spooled before they are applied to the run files (default `$MODELSHIP_SPOOL_DIR`, else
   * `.modelship/spool` beside the root, outside the directory MLflow lists). A later tracker on the same root
   * and spool applies what a killed process left there.
   */
  spoolDir: z.string().min(1).optional(),
  ...trackerOptionsShape,
});

/** Options accepted by {@link createLocalTracker}. */
export type LocalTrackerOptions = z.input<typeof localTrackerOptionsSchema>;

/** Parses options once at the boundary. */
export function parseLocalTrackerOptions(options: unknown): z.output<typeof localTrackerOptionsSchema> {
  return parseOptions(
    localTrackerOptionsSchema,
    options ?? {},
    'local tracker',
    "Pass { root: './mlruns' } or nothing.",
  );
}
