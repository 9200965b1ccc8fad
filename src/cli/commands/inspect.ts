/**
 * `modelship inspect <ref|file>`: what a model takes and gives (names, dtypes, shapes with dimension names),
 * how it was built (IR version, opsets, producer), its size and sha256, registry metadata (MLflow's MLmodel
 * info among it) and lineage (git, DVC, Git LFS). A table, or `--json`.
 */
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import {
  collectLineage,
  isPathRef,
  loadModel,
  type Model,
  type ModelLineage,
  type RegistryAdapter,
  type TensorSpec,
} from '../../index.node.js';
import { createCliLogger } from '../log.js';
import { readMlmodelSection, type MlmodelSection } from '../mlmodel-info.js';
import { readOnnxHeader, type OnnxHeader } from '../onnx-header.js';
import { formatBytes } from '../progress.js';
import { cliRef, registryForCli, withSourceFlags, type SourceFlags } from '../sources.js';
import { say, style, table } from '../ui.js';

interface InspectFlags extends SourceFlags {
  json?: boolean;
}

/** A shape with its dimension names where the model gives them: `[batch, 784]`. */
const formatShape = (shape: TensorSpec['shape'], names: TensorSpec['dimNames']): string =>
  shape === null ? '[any]' : `[${shape.map((d, i) => (d === null ? (names?.[i] ?? '?') : String(d))).join(', ')}]`;

const tensor = (t: TensorSpec) => ({
  name: t.name,
  dtype: t.dtype,
  shape: t.shape,
  ...(t.dimNames?.some((n) => n !== null) ? { dimNames: t.dimNames } : {}),
});

/** The model file, for the header: the path given, or the registry's (cached) copy. */
async function modelFile(
  ref: string,
  registry: RegistryAdapter | undefined,
): Promise<{ path: string; done(): void } | undefined> {
  if (isPathRef(ref) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) return { path: ref, done: () => undefined };
  if (registry === undefined) return undefined;
  const artifact = await registry.fetch(await registry.resolve(ref));
  return artifact.kind === 'file' ? { path: artifact.path, done: () => artifact.release?.() } : undefined;
}

function printTable(report: ReturnType<typeof describeModel> & { mlmodel?: MlmodelSection }): void {
  say(`${style.bold(report.name)} version ${report.version}`);
  say(
    table([
      ['size', `${formatBytes(report.size)} (${report.size} bytes)`],
      ['sha256', report.sha256],
      ...(report.onnx
        ? [
            ['producer', `${report.onnx.producerName ?? '?'} ${report.onnx.producerVersion ?? ''}`.trim()],
            ['ir version', String(report.onnx.irVersion ?? '?')],
            ['opsets', report.onnx.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')],
          ]
        : []),
      ...(report.source.registry ? [['registry', report.source.registry]] : []),
    ]),
  );
  const rows = (kind: string, ts: readonly TensorSpec[]) =>
    ts.map((t) => [kind, t.name, t.dtype, formatShape(t.shape, t.dimNames)]);
  say('');
  say(table([['', 'name', 'dtype', 'shape'], ...rows('input', report.inputs), ...rows('output', report.outputs)]));
  const extra = { ...report.onnx?.metadata, ...report.metadata };
  if (Object.keys(extra).length > 0) {
    say('');
    say(table(Object.entries(extra).map(([k, v]) => ['metadata', k, typeof v === 'string' ? v : JSON.stringify(v)])));
  }
  if (report.mlmodel !== undefined) {
    const m = report.mlmodel;
    say('');
    say(
      table([
        ['MLmodel', 'flavors', Object.keys(m.flavors ?? {}).join(', ')],
        ...(m.runId ? [['MLmodel', 'run id', m.runId]] : []),
        ...(m.modelUuid ? [['MLmodel', 'model uuid', m.modelUuid]] : []),
        ...(m.createdAt ? [['MLmodel', 'created', m.createdAt]] : []),
        ...(m.signature ? [['MLmodel', 'signature', JSON.stringify(m.signature)]] : []),
      ]),
    );
  }
  if (report.lineage !== undefined) {
    say('');
    say(`lineage ${JSON.stringify(report.lineage)}`);
  }
}

function describeModel(model: Model, onnx: OnnxHeader | undefined, lineage: ModelLineage | undefined) {
  return {
    name: model.name,
    version: model.version,
    sha256: model.sha256,
    size: model.size,
    source: model.source,
    inputs: model.signature.inputs.map(tensor),
    outputs: model.signature.outputs.map(tensor),
    ...(onnx ? { onnx } : {}),
    metadata: model.metadata,
    ...(lineage ? { lineage } : {}),
  };
}

async function runInspect(ref: string, flags: InspectFlags): Promise<void> {
  const target = cliRef(ref);
  const registry = await registryForCli(target, flags);
  const model = await loadModel(target, {
    ...(registry ? { registry } : {}),
    workers: 0,
    warmup: false,
    logger: createCliLogger('text'),
  });
  try {
    const file = await modelFile(target, registry).catch(() => undefined);
    let onnx: OnnxHeader | undefined;
    if (file !== undefined) {
      onnx = await readOnnxHeader(file.path).catch(() => undefined);
      file.done();
    }
    // A registry records lineage at publish time; for a file, it is where the file sits (git, DVC, Git LFS).
    const lineage =
      model.lineage ??
      (file !== undefined && target === file.path
        ? await collectLineage({ cwd: dirname(target), datasets: [basename(target)] }).catch(() => undefined)
        : undefined);
    // An MLflow version from the environment's tracking server: its MLmodel (flavors, signature, run, uuid).
    const trackingUri = process.env.MLFLOW_TRACKING_URI;
    const mlmodel =
      model.source.registry === 'mlflow' && trackingUri
        ? await readMlmodelSection(trackingUri, model.name, model.version, process.env.MLFLOW_TRACKING_TOKEN).catch(
            () => undefined,
          )
        : undefined;
    const report = { ...describeModel(model, onnx, lineage), ...(mlmodel ? { mlmodel } : {}) };
    if (flags.json === true) say(JSON.stringify(report, null, 2));
    else printTable(report);
  } finally {
    await model.close();
  }
}

/** Adds `inspect` to the program. */
export function inspectCommand(program: Command): void {
  withSourceFlags(
    program
      .command('inspect')
      .description('Show a model: signature, opsets and producer, size, sha256, metadata, lineage')
      .argument('<ref>', 'a file, a URL with #sha256=, or a registry reference')
      .option('--json', 'print JSON instead of a table'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ modelship inspect ./model.onnx
  $ modelship inspect mnist@production --json
  $ MLFLOW_TRACKING_URI=http://mlflow:5000 modelship inspect models:/mnist/3`,
    )
    .action(async (ref: string, flags: InspectFlags) => {
      await runInspect(ref, flags);
    });
}
