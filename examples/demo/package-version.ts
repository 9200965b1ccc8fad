/**
 * Run from source (tsx), modelship has no build-time version, and its telemetry would report `0.0.0-dev` as the
 * instrumentation scope's version. This gives it the package's, as tsup's `define` does for dist/. Import it
 * before modelship: ES modules evaluate in import order.
 */
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
(globalThis as { MODELSHIP_VERSION?: string }).MODELSHIP_VERSION ??= version;
