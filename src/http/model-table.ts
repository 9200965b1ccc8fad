import { ModelshipError } from '../errors/index.js';
import { repositoryOf, type ModelRepository } from '../serving/model-repository.js';
import type { Servable } from '../serving/servable.js';

/** The served models by name and version; the first model given for a name is its default version. */
export class ModelTable {
  readonly all: readonly Servable[];
  /** The model repository the served models come from (`createModelRepository`), if any. */
  readonly repository: ModelRepository | undefined;
  readonly #byName = new Map<string, Servable[]>();

  constructor(models: readonly Servable[]) {
    this.all = models;
    const repositories = new Set(models.map(repositoryOf).filter((r) => r !== undefined));
    if (repositories.size > 1) {
      throw new ModelshipError('INVALID_OPTIONS', 'createHandler serves the models of one model repository at most.');
    }
    this.repository = [...repositories][0];
    for (const m of models) {
      const versions = this.#byName.get(m.name) ?? [];
      if (versions.some((v) => v.version === m.version)) {
        throw new ModelshipError(
          'INVALID_OPTIONS',
          `Model ${m.name} version ${m.version} is given twice to createHandler.`,
        );
      }
      versions.push(m);
      this.#byName.set(m.name, versions);
    }
  }

  /** The first model given: what `POST /predict` serves. */
  get primary(): Servable {
    return this.all[0] as Servable;
  }

  /** All versions served under `name`, or throws MODEL_NOT_FOUND. */
  versions(name: string): Servable[] {
    const versions = this.#byName.get(name);
    if (!versions) {
      throw new ModelshipError(
        'MODEL_NOT_FOUND',
        `No model named "${name}" is served here; available: ${[...this.#byName.keys()].map((n) => `"${n}"`).join(', ')}.`,
        { details: { available: [...this.#byName.keys()] } },
      );
    }
    return versions;
  }

  /** The model for `name` (and `version`, else the default version), or throws MODEL_NOT_FOUND / VERSION_NOT_FOUND. */
  get(name: string, version?: string): Servable {
    const versions = this.versions(name);
    if (version === undefined) return versions[0] as Servable;
    const found = versions.find((m) => m.version === version);
    if (!found) {
      throw new ModelshipError(
        'VERSION_NOT_FOUND',
        `Model "${name}" has no version "${version}" here; served versions: ${versions.map((m) => `"${m.version}"`).join(', ')}.`,
        { details: { available: versions.map((m) => m.version) } },
      );
    }
    return found;
  }

  get names(): string[] {
    return [...this.#byName.keys()];
  }
}
