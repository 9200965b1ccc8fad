import { ModelshipError } from '../../errors/index.js';

/** The parts of an `MLmodel` file modelship needs: the flavors and their string settings. */
export interface MlmodelInfo {
  /** Flavor name → its scalar settings (`data`, `onnx_version`, …). */
  readonly flavors: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"')))) {
    return v.startsWith("'") ? v.slice(1, -1).replace(/''/g, "'") : (JSON.parse(v) as string);
  }
  return v;
}

/**
 * Reads the `flavors:` block of an MLmodel file. MLflow writes it with PyYAML in block style (two-space indent), so
 * this reads exactly that shape — flavor names at the first indent, their scalar keys at the second — instead of
 * pulling in a YAML parser for three keys. Nested values (lists, maps) are skipped.
 */
export function parseMlmodel(text: string): MlmodelInfo {
  const flavors: Record<string, Record<string, string>> = {};
  const lines = text.split(/\r?\n/);
  let inFlavors = false;
  let flavorIndent = -1;
  let current: Record<string, string> | undefined;
  let keyIndent = -1;
  for (const raw of lines) {
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (indent === 0) {
      inFlavors = /^flavors:\s*$/.test(line);
      flavorIndent = -1;
      current = undefined;
      continue;
    }
    if (!inFlavors) continue;
    if (flavorIndent < 0) flavorIndent = indent;
    const m = /^([^:]+):(.*)$/.exec(line);
    if (indent === flavorIndent) {
      if (!m) continue;
      current = {};
      flavors[unquote(m[1] as string)] = current;
      keyIndent = -1;
    } else if (current !== undefined && m) {
      if (keyIndent < 0) keyIndent = indent;
      if (indent !== keyIndent) continue;
      const value = (m[2] as string).trim();
      if (value !== '' && value !== 'null' && value !== '~' && !value.startsWith('[') && !value.startsWith('{'))
        current[unquote(m[1] as string)] = unquote(value);
    }
  }
  return { flavors };
}

/** The ONNX file named by the MLmodel's `onnx` flavor; UNSUPPORTED_MODEL_FORMAT naming the flavors it has otherwise. */
export function onnxDataFile(info: MlmodelInfo, what: string): string {
  const onnx = info.flavors.onnx;
  if (onnx === undefined) {
    const names = Object.keys(info.flavors);
    throw new ModelshipError(
      'UNSUPPORTED_MODEL_FORMAT',
      `${what} is not an ONNX model: its MLmodel has the flavors ${names.length === 0 ? '(none)' : names.join(', ')}, not "onnx". Log it with mlflow.onnx.log_model (convert it with skl2onnx, tf2onnx or torch.onnx first).`,
      { details: { flavors: names } },
    );
  }
  const data = onnx.data ?? 'model.onnx';
  if (data.startsWith('/') || data.split('/').includes('..')) {
    throw new ModelshipError(
      'UNSUPPORTED_MODEL_FORMAT',
      `${what}: the onnx flavor's data path ${JSON.stringify(data)} points outside the model directory.`,
    );
  }
  return data;
}

/**
 * The Python version written into the model's environment. The ONNX model does not depend on it; MLflow only
 * compares its major.minor with the loading interpreter's and warns when they differ.
 */
const PYTHON_VERSION = '3.10.12';
const REQUIREMENTS = ['mlflow>=2.10', 'onnx>=1.14', 'onnxruntime>=1.16'];

/**
 * An MLmodel file for a model published by modelship, shaped as `mlflow.onnx.save_model` writes it: an `onnx`
 * flavor and a `python_function` flavor (`loader_module: mlflow.onnx`, the same `data`, `python_version` and the
 * `env` files of {@link modelEnvFiles}), so `mlflow.pyfunc.load_model` and `mlflow models serve` take it.
 */
export function writeMlmodel(fields: {
  artifactPath: string;
  data: string;
  runId?: string;
  modelUuid: string;
  createdAt: Date;
}): string {
  const time = fields.createdAt.toISOString().replace('T', ' ').replace('Z', '000');
  const data = JSON.stringify(fields.data);
  return [
    `artifact_path: ${fields.artifactPath}`,
    'flavors:',
    '  onnx:',
    '    code: null',
    `    data: ${data}`,
    '  python_function:',
    `    data: ${data}`,
    '    env:',
    '      conda: conda.yaml',
    '      virtualenv: python_env.yaml',
    '    loader_module: mlflow.onnx',
    `    python_version: ${PYTHON_VERSION}`,
    'model_uuid: ' + fields.modelUuid,
    ...(fields.runId === undefined ? [] : [`run_id: ${fields.runId}`]),
    `utc_time_created: '${time}'`,
    '',
  ].join('\n');
}

/** The environment files the python_function flavor names, as mlflow.onnx writes them beside the MLmodel. */
export function modelEnvFiles(): Record<string, string> {
  return {
    'conda.yaml': [
      'channels:',
      '- conda-forge',
      'dependencies:',
      `- python=${PYTHON_VERSION}`,
      '- pip',
      '- pip:',
      ...REQUIREMENTS.map((r) => `  - ${r}`),
      'name: mlflow-env',
      '',
    ].join('\n'),
    'python_env.yaml': [
      `python: ${PYTHON_VERSION}`,
      'build_dependencies:',
      '- pip',
      '- setuptools',
      '- wheel',
      'dependencies:',
      '- -r requirements.txt',
      '',
    ].join('\n'),
    'requirements.txt': `${REQUIREMENTS.join('\n')}\n`,
  };
}
