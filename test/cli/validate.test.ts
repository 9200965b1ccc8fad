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
