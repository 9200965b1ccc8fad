/**
 * `modelship validate` as a CI job runs it, through the built bin: a candidate equal to production passes
 * (exit 0), one that answers differently fails (exit 1), one that cannot load is an infrastructure error
 * (exit 2); the JUnit XML is parsed back as a CI system reads it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { addOneModel, tempDir, tinyMnist } from '../helpers/models.js';
import { digits, disagreeingMnist } from '../helpers/deployments.js';
import { Tensor } from 'modelship';
import { chunkSample, joinOutputs } from '../../src/cli/chunked-model.js';
import { runCli } from './cli.js';

let dir: string;
const at = (name: string): string => join(dir, name);
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'testcase' });

interface Case {
  name: string;
  failure?: { message: string };
  error?: { message: string };
}

async function junit(
  file: string,
): Promise<{ suites: Record<string, string>; suite: Record<string, unknown>; cases: Case[] }> {
  const doc = parser.parse(await readFile(file, 'utf8'));
  const suites = doc.testsuites;
  return { suites, suite: suites.testsuite, cases: suites.testsuite.testcase };
}

beforeAll(async () => {
  dir = await tempDir('modelship-cli-validate-');
  await writeFile(at('production.onnx'), tinyMnist().onnx);
  await writeFile(at('candidate.onnx'), tinyMnist().onnx);
  await writeFile(at('rotated.onnx'), disagreeingMnist());
  await writeFile(at('addone.onnx'), addOneModel());
  const { images, labels } = digits(100);
  await writeFile(
    at('samples.jsonl'),
    images.map((image, i) => JSON.stringify({ inputs: image, label: labels[i] })).join('\n') + '\n',
  );
});

const gate = ['--data', 'samples.jsonl', '--labels', 'label', '--min-accuracy', '0.5', '--max-accuracy-drop', '0.01'];

describe('modelship validate', () => {
  it('passes a candidate that answers as production does: exit 0, JUnit without failures', async () => {
    const r = await runCli(
      [
        'validate',
        'candidate.onnx',
        '--against',
        'production.onnx',
        ...gate,
        '--min-agreement',
        '0.99',
        '--max-latency-ratio',
        '1000',
        '--junit',
        'pass.xml',
      ],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PASS +signature/m);
    expect(r.stdout).toMatch(/^PASS +agreement +1 +limit 0\.99/m);
    expect(r.stdout).toMatch(/PASSED \(5 checks\)/);
    const { suites, suite, cases } = await junit(at('pass.xml'));
    expect(suites).toMatchObject({ name: 'modelship validate', tests: '5', failures: '0', errors: '0' });
    expect(cases.map((c) => c.name)).toEqual(['signature', 'accuracy', 'accuracy-drop', 'agreement', 'latency-ratio']);
    expect(cases.every((c) => c.failure === undefined && c.error === undefined)).toBe(true);
    const props = (suite.properties as { property: { name: string; value: string }[] }).property;
    expect(props.find((p) => p.name === 'rows')?.value).toBe('100');
  });

  it('fails a candidate that answers differently: exit 1, each missed threshold a JUnit failure', async () => {
    const r = await runCli(
      [
        'validate',
        'rotated.onnx',
        '--against',
        'production.onnx',
        ...gate,
        '--min-agreement',
        '0.9',
        '--junit',
        'fail.xml',
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL +accuracy-drop/m);
    expect(r.stdout).toMatch(/^FAIL +agreement/m);
    expect(r.stdout).toMatch(/FAILED \(\d of 4 checks\)/);
    const { suites, cases } = await junit(at('fail.xml'));
    expect(Number(suites.failures)).toBeGreaterThanOrEqual(2);
    expect(suites.errors).toBe('0');
    const agreement = cases.find((c) => c.name === 'agreement');
    expect(agreement?.failure?.message).toMatch(
      /predicts the serving version's label on 0\.\d+ of the rows \(min 0\.9\)/,
    );
  });

  it('fails a candidate with another signature before running it', async () => {
    const r = await runCli(['validate', 'addone.onnx', '--against', 'production.onnx', ...gate, '--json'], {
      cwd: dir,
    });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.passed).toBe(false);
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ name: 'signature', passed: false });
    expect(report.checks[0].message).toMatch(/pixels/);
  });

  it('is an infrastructure error when a model cannot be loaded: exit 2, one JUnit error', async () => {
    const r = await runCli(
      ['validate', 'missing.onnx', '--against', 'production.onnx', ...gate, '--junit', 'error.xml'],
      {
        cwd: dir,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error MODEL_NOT_FOUND: /m);
    const { suites, cases } = await junit(at('error.xml'));
    expect(suites).toMatchObject({ tests: '1', failures: '0', errors: '1' });
    expect(cases[0]?.error?.message).toMatch(/^MODEL_NOT_FOUND/);
  });

  it('validates a sample of more than 4096 rows (maxRows per request) in chunks, rows kept in order', async () => {
    // add_one gives x + 1, so each row's label is the position of its largest value; the pattern is irregular so
    // chunks joined out of order would miss labels.
    const rows = 5000;
    const lines: string[] = [];
    for (let i = 0; i < rows; i++) {
      const label = (i * 7 + Math.floor(i / 13)) % 4;
      lines.push(JSON.stringify({ inputs: [0, 1, 2, 3].map((j) => (j === label ? 9 : j / 10)), label }));
    }
    await writeFile(at('big.jsonl'), lines.join('\n') + '\n');
    await writeFile(at('addone2.onnx'), addOneModel());
    const r = await runCli(
      [
        'validate',
        'addone2.onnx',
        '--against',
        'addone.onnx',
        '--data',
        'big.jsonl',
        '--labels',
        'label',
        '--min-accuracy',
        '1',
        '--min-agreement',
        '1',
        '--max-latency-ratio',
        '1000',
        '--latency-runs',
        '1',
        '--json',
      ],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ passed: true, rows, figures: { accuracy: 1, agreement: 1 } });
  });

  it('chunks a sample and joins the outputs back along the first dimension', () => {
    expect(chunkSample([[1], [2], [3], [4], [5]] as never, 2)).toEqual([[[1], [2]], [[3], [4]], [[5]]]);
    expect(chunkSample({ a: [1, 2, 3], b: [4, 5, 6] } as never, 2)).toEqual([
      { a: [1, 2], b: [4, 5] },
      { a: [3], b: [6] },
    ]);
    const joined = joinOutputs([
      { y: new Tensor('float32', new Float32Array([1, 2, 3, 4]), [2, 2]), s: new Tensor('string', ['a', 'b'], [2]) },
      { y: new Tensor('float32', new Float32Array([5, 6]), [1, 2]), s: new Tensor('string', ['c'], [1]) },
    ]);
    expect(joined.y?.shape).toEqual([3, 2]);
    expect(Array.from(joined.y?.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(joined.s?.data).toEqual(['a', 'b', 'c']);
  });

  it('is a usage error when a flag is missing or malformed (exit 2)', async () => {
    const missing = await runCli(['validate', 'candidate.onnx', '--data', 'samples.jsonl'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--against <production>' not specified");
    const bad = await runCli(
      ['validate', 'candidate.onnx', '--against', 'production.onnx', '--data', 'samples.jsonl', '--min-accuracy', '9'],
      { cwd: dir },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a number from 0 to 1');
  });
});
