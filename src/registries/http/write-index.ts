import { join } from 'node:path';
import { writeFileAtomic } from '../../platform/node/fs-atomic.js';
import { createLocalRegistry } from '../local/local-registry.js';
import { LOCAL_MODEL_FILE } from '../local/layout.js';
import { HTTP_INDEX_FILE, type HttpIndex } from './index-file.js';

/**
 * Writes `<root>/<name>/index.json` for every model of the local registry at `root`, turning the directory into an
 * HTTP registry: serve it with any static file server, or upload it to a bucket (`aws s3 sync`). Run it again after
 * publishing or moving an alias. Returns the names of the models indexed.
 *
 * @example
 * ```ts
 * await createLocalRegistry({ root: './models' }).publish({ name: 'mnist', file: './mnist.onnx', aliases: ['production'] });
 * await writeHttpRegistryIndex({ root: './models' });   // then: aws s3 sync ./models s3://bucket/models
 * ```
 */
export async function writeHttpRegistryIndex(options: { root: string }): Promise<string[]> {
  const local = createLocalRegistry({ root: options.root });
  const names = await local.listModels();
  for (const name of names) {
    const [versions, aliases] = await Promise.all([local.listVersions(name), local.getAliases(name)]);
    const index: HttpIndex = {
      name,
      versions: versions.map((v) => ({
        version: v.version,
        file: `${v.version}/${LOCAL_MODEL_FILE}`,
        sha256: v.sha256,
        size: v.size,
        createdAt: v.createdAt,
        metadata: { ...v.metadata },
      })),
      aliases,
    };
    await writeFileAtomic(join(local.root, name, HTTP_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  }
  return names;
}
