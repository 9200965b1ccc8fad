/**
 * `modelship inspect models:/…` through the built bin against the MLflow test server: the MLmodel section
 * (flavors, signature, run id, model uuid) as `mlflow.onnx.log_model` writes the file, in the table and `--json`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, tinyMnist } from '../helpers/models.js';
import { MlflowTestServer } from '../servers/mlflow/server.js';
import { runCli } from './cli.js';

const RUN = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const UUID = '3f1c9a7e2b4d4e6f8a0b1c2d3e4f5a6b';
// The MLmodel mlflow.onnx.log_model(..., signature=infer_signature(x, y)) writes (MLflow 2.x): signature parts
// are JSON strings inside the YAML, flavor settings nested.
const MLMODEL = `artifact_path: model
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_version: 1.17.0
    providers:
    - CUDAExecutionProvider
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.onnx
    python_version: 3.11.9
mlflow_version: 2.17.0
model_uuid: ${UUID}
run_id: ${RUN}
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 784]}}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 10]}}]'
  params: null
utc_time_created: '2024-10-21 09:12:33.123456'
`;

let mlflow: MlflowTestServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  mlflow = new MlflowTestServer();
  await mlflow.start();
  mlflow.putArtifact('digits1/MLmodel', MLMODEL);
  mlflow.putArtifact('digits1/model.onnx', tinyMnist().onnx);
  mlflow.addVersion('digits', 'mlflow-artifacts:/digits1', { run_id: RUN });
  mlflow.setAlias('digits', 'production', '1');
  env = { MLFLOW_TRACKING_URI: mlflow.url, MODELSHIP_CACHE_DIR: await tempDir('modelship-cli-inspect-cache-') };
});

afterAll(() => mlflow.stop());

describe('modelship inspect models:/…', () => {
  it('--json has an mlmodel section: flavors, signature, run id, model uuid', async () => {
    const r = await runCli(['inspect', 'models:/digits@production', '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.mlmodel).toMatchObject({
      runId: RUN,
      modelUuid: UUID,
      source: 'mlflow-artifacts:/digits1',
      createdAt: '2024-10-21 09:12:33.123456',
      flavors: {
        onnx: { data: 'model.onnx', onnx_version: '1.17.0' },
        python_function: { loader_module: 'mlflow.onnx' },
      },
      signature: {
        inputs: [{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 784] } }],
        params: null,
      },
    });
  });

  it('prints the MLmodel section in the table', async () => {
    const r = await runCli(['inspect', 'models:/digits@production'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^MLmodel +flavors +onnx, python_function$/m);
    expect(r.stdout).toMatch(new RegExp(`^MLmodel +run id +${RUN}$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^MLmodel +model uuid +${UUID}$`, 'm'));
    expect(r.stdout).toMatch(/^MLmodel +signature +\{"inputs":/m);
  });
});
