/** The training run that produced a model. */
export interface LineageRun {
  /**
   * The run's id on the tracking server. When the server had not created the run yet (it was unreachable), this
   * is the tracker's own key for it, which MLflow runs carry as the tag `modelship.run_key`.
   */
  readonly runId: string;
  /** The tracker's key for the run (`TrackingRun.id`), when the lineage was collected from a run handle. */
  readonly runKey?: string;
  /** The tracker's URI (`file:///…/mlruns`, `http://mlflow:5000`, `https://api.wandb.ai/<entity>/<project>`). */
  readonly trackingUri: string;
  readonly experimentId?: string;
  readonly url?: string;
}

/** The source tree the model was built from. */
export interface LineageGit {
  /** Full commit hash of HEAD. */
  readonly commit: string;
  /** True when tracked files had uncommitted changes, so the commit alone does not reproduce the build. */
  readonly dirty: boolean;
  readonly branch?: string;
}

/** A data set the model was trained or evaluated on, identified by its content. */
export interface LineageDataset {
  /** Path relative to the repository (or as given). */
  readonly path: string;
  /** sha256 of the file; for a directory, of its sorted `relative-path sha256` lines. */
  readonly sha256?: string;
  readonly size?: number;
  /** Number of files, for a directory. */
  readonly files?: number;
}

/** A DVC-tracked output, from a `.dvc` file or `dvc.lock`. */
export interface LineageDvcOut {
  readonly path: string;
  readonly md5: string;
  readonly size?: number;
  /** The `.dvc` file or `dvc.lock` (with `:stage`) it was read from. */
  readonly source: string;
}

/** A Git LFS object: the pointer's `oid` and `size`. */
export interface LineageLfsObject {
  readonly path: string;
  /** `sha256:<64 hex>`, as in the pointer file. */
  readonly oid: string;
  readonly size: number;
}

/** Where a model came from, recorded at publish time and exposed as `model.lineage`. */
export interface ModelLineage {
  readonly run?: LineageRun;
  readonly git?: LineageGit;
  readonly datasets?: readonly LineageDataset[];
  readonly dvc?: readonly LineageDvcOut[];
  readonly lfs?: readonly LineageLfsObject[];
}
