/**
 * Import direction (CONVENTIONS.md):
 *   spec, errors ← core ← platform, telemetry ← clients, lineage ← backends, registries, tracking ← serving, routing ← http, cli ← runtime ← entries
 * Each rule forbids a layer from importing the layers that build on it, plus cycles and node: built-ins in
 * runtime-agnostic code.
 */
const layer = (name) => `^src/${name}/`;
const above = {
  spec: ['errors', 'core', 'platform', 'telemetry', 'clients', 'lineage', 'backends', 'registries', 'tracking', 'serving', 'routing', 'http', 'cli'],
  errors: ['spec', 'core', 'platform', 'telemetry', 'clients', 'lineage', 'backends', 'registries', 'tracking', 'serving', 'routing', 'http', 'cli'],
  core: ['platform', 'telemetry', 'clients', 'lineage', 'backends', 'registries', 'tracking', 'serving', 'routing', 'http', 'cli'],
  platform: ['telemetry', 'clients', 'lineage', 'backends', 'registries', 'tracking', 'serving', 'routing', 'http', 'cli'],
  telemetry: ['platform', 'clients', 'lineage', 'backends', 'registries', 'tracking', 'serving', 'routing', 'http', 'cli'],
  clients: ['lineage', 'backends', 'registries', 'tracking', 'serving', 'routing', 'http', 'cli'],
  lineage: ['clients', 'backends', 'registries', 'tracking', 'serving', 'routing', 'http', 'cli'],
  backends: ['registries', 'tracking', 'serving', 'routing', 'http', 'cli'],
  registries: ['backends', 'tracking', 'serving', 'routing', 'http', 'cli'],
  tracking: ['backends', 'registries', 'serving', 'routing', 'http', 'cli'],
  // Drift sketches, feedback joins and their gauges: pure computation that serving, routing and http build on, so
  // only spec, errors, core and telemetry below it (and never a node: built-in: see no-node-in-agnostic-layers).
  monitoring: ['platform', 'clients', 'lineage', 'backends', 'registries', 'tracking', 'serving', 'routing', 'http', 'cli', 'runtime'],
  serving: ['routing', 'http', 'cli'],
  routing: ['http', 'cli'],
  http: ['cli'],
};

module.exports = {
  forbidden: [
    ...Object.entries(above).map(([from, targets]) => ({
      name: `layer-${from}`,
      comment: `src/${from} may not import ${targets.join(', ')} (see CONVENTIONS.md, "Imports flow one way")`,
      severity: 'error',
      from: { path: layer(from) },
      to: { path: `^src/(${targets.join('|')})/` },
    })),
    {
      name: 'layers-not-entries',
      comment: 'Only entry points (and cli/, which is built on the public API) import entry points',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: '^src/cli/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'cli-public-api-only',
      comment: 'The modelship command is built on the public API only: cli/ imports entry points, never the layers behind them',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/(?!cli/)[^/]+/' },
    },
    {
      name: 'nothing-imports-cli',
      comment: 'The command (and its argument parser and progress bar) stays out of the library: only cli/ imports cli/',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'runtime-only-from-entries',
      comment: 'runtime/ holds the composition roots (loadModel, createDeployment bound to a runtime): it may import every layer, and only entry points import it',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: '^src/runtime/' },
      to: { path: '^src/runtime/' },
    },
    {
      name: 'no-node-in-agnostic-layers',
      comment: 'spec, errors, core, telemetry, the fetch-style http core, the pure parts of features and the browser code run in browsers',
      severity: 'error',
      from: {
        path: '^src/(spec|errors|core|telemetry|platform/browser|backends/(onnx-common|onnx-web|web-worker)|serving/batching|routing/policy|monitoring|lineage/(?!node/))/|^src/tracking/(records|validate)\\.ts$|^src/http/(?!node/)|^src/serving/browser-|^src/(runtime/)?browser\\.ts$',
      },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'browser-entry-without-node',
      comment: 'Nothing the browser entry reaches, however indirectly, may import a node: module',
      severity: 'error',
      from: { path: '^src/browser\\.ts$' },
      to: { path: '^(node:.+|fs|path|os|crypto|url|util|stream|events|module|worker_threads|child_process|http|https|net)$', reachable: true },
    },
    {
      name: 'onnxruntime-only-in-backends',
      comment: 'backends/ is the only place onnxruntime is imported (CONVENTIONS.md)',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/backends/' },
      to: { path: 'onnxruntime' },
    },
    {
      name: 'spec-is-types-only',
      comment: 'spec/ holds contracts only',
      severity: 'error',
      from: { path: '^src/spec/' },
      to: { path: '^src/(?!spec/)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
