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
      if (value !== '' && value !== 'null' && value !== '~' && !value.startsWith('[') && !value.startsWith('{')) current[unquote(m[1] as string)] = unquote(value);
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
    throw new ModelshipError('UNSUPPORTED_MODEL_FORMAT', `${what}: the onnx flavor's data path ${JSON.stringify(data)} points outside the model directory.`);
  }
  return data;
}

/** An MLmodel file for a model published by modelship: one `onnx` flavor whose data is `model.onnx`. */
export function writeMlmodel(fields: { artifactPath: string; runId?: string; modelUuid: string; createdAt: Date }): string {
  const time = fields.createdAt.toISOString().replace('T', ' ').replace('Z', '000');
  return [
    `artifact_path: ${fields.artifactPath}`,
    'flavors:',
    '  onnx:',
    '    code: null',
    '    data: model.onnx',
    'model_uuid: ' + fields.modelUuid,
    ...(fields.runId === undefined ? [] : [`run_id: ${fields.runId}`]),
    `utc_time_created: '${time}'`,
    '',
  ].join('\n');
}
