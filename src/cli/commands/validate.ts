/**
 * `modelship validate <candidate> --against <production> --data samples.jsonl`: the CI/CD gate. Both models
 * run the same sample side by side, through the checks `switchTo({ validate })` uses (`evaluateCandidate`);
 * exit 0 pass, 1 fail, 2 usage or infrastructure error, with JUnit XML for the CI system to show.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  evaluateCandidate,
  loadModel,
  toModelshipError,
  type Model,
  type ValidationCriteria,
  type ValidationReport,
} from '../../index.node.js';
import { chunkedModel } from '../chunked-model.js';
import { junitXml, type JUnitCase } from '../junit.js';
import { createCliLogger } from '../log.js';
import { intOption, numberOption, ratioOption } from '../parse-flags.js';
import { readSamples } from '../samples.js';
import { cliRef, registryFrom, withSourceFlags, type SourceFlags } from '../sources.js';
import { EXIT, say, style, table } from '../ui.js';

interface ValidateFlags extends SourceFlags {
  against: string;
  data: string;
  labels?: string;
  inputsField?: string;
  output?: string;
  minAccuracy?: number;
  maxAccuracyDrop?: number;
  maxLatencyRatio?: number;
  minAgreement?: number;
  latencyRuns?: number;
  junit?: string;
  json?: boolean;
}

function printReport(candidate: Model, current: Model, rows: number, report: ValidationReport): void {
  say(`candidate ${candidate.name} ${candidate.version} against ${current.name} ${current.version}, ${rows} rows`);
  say(
    table(
      report.checks.map((c) => [
        c.passed ? style.green('PASS') : style.red('FAIL'),
        c.name,
        c.value === undefined ? '' : Number(c.value.toFixed(4)).toString(),
        c.limit === undefined ? '' : `limit ${c.limit}`,
        c.message,
      ]),
    ),
  );
  const failed = report.checks.filter((c) => !c.passed).length;
  say(
    report.passed
      ? style.green(`PASSED (${report.checks.length} checks)`)
      : style.red(`FAILED (${failed} of ${report.checks.length} checks)`),
  );
}

async function runValidate(candidateRef: string, flags: ValidateFlags): Promise<number> {
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  const suite = `${candidateRef} against ${flags.against}`;
  const writeJunit = async (cases: JUnitCase[], properties: Record<string, string> = {}): Promise<void> => {
    if (flags.junit !== undefined)
      await writeFile(flags.junit, junitXml({ name: suite, cases, seconds: seconds(), properties }));
  };
  const models: Model[] = [];
  try {
    const sample = await readSamples(flags.data, {
      ...(flags.labels !== undefined ? { labelField: flags.labels } : {}),
      ...(flags.inputsField !== undefined ? { inputsField: flags.inputsField } : {}),
    });
    const registry = await registryFrom(flags);
    const logger = createCliLogger('text');
    const load = async (ref: string): Promise<Model> => {
      const model = await loadModel(cliRef(ref), { ...(registry ? { registry } : {}), workers: 1, logger });
      models.push(model);
      await model.ready();
      return model;
    };
    const [candidate, current] = [await load(candidateRef), await load(flags.against)];
    const criteria: ValidationCriteria = {
      inputs: sample.inputs,
      ...(sample.labels !== undefined ? { expect: sample.labels } : {}),
      ...(flags.output !== undefined ? { output: flags.output } : {}),
      ...(flags.minAccuracy !== undefined ? { minAccuracy: flags.minAccuracy } : {}),
      ...(flags.maxAccuracyDrop !== undefined ? { maxAccuracyDrop: flags.maxAccuracyDrop } : {}),
      ...(flags.maxLatencyRatio !== undefined ? { maxLatencyRatio: flags.maxLatencyRatio } : {}),
      ...(flags.minAgreement !== undefined ? { minAgreement: flags.minAgreement } : {}),
      ...(flags.latencyRuns !== undefined ? { latencyRuns: flags.latencyRuns } : {}),
    };
    // Samples over one request's 4096 rows run in chunks (src/cli/chunked-model.ts); the checks stay shared.
    const report = await evaluateCandidate(chunkedModel(candidate), chunkedModel(current), criteria);
    await writeJunit(
      report.checks.map((c) => ({ name: c.name, passed: c.passed, message: c.message })),
      {
        'candidate.version': candidate.version,
        'production.version': current.version,
        rows: String(sample.rows),
        ...Object.fromEntries(Object.entries(report.figures).map(([k, v]) => [k, String(v)])),
      },
    );
    if (flags.json === true)
      say(
        JSON.stringify({
          passed: report.passed,
          candidate: { name: candidate.name, version: candidate.version },
          production: { name: current.name, version: current.version },
          rows: sample.rows,
          checks: report.checks,
          figures: report.figures,
        }),
      );
    else printReport(candidate, current, sample.rows, report);
    return report.passed ? EXIT.ok : EXIT.failed;
  } catch (error) {
    // The gate could not run: CI shows an error (not a failure), and the exit code is 2.
    const e = toModelshipError(error);
    await writeJunit([{ name: 'validate', passed: false, error: true, message: `${e.code}: ${e.message}` }]).catch(
      () => undefined,
    );
    throw e;
  } finally {
    await Promise.all(models.map((m) => m.close().catch(() => undefined)));
  }
}

/** Adds `validate` to the program. */
export function validateCommand(program: Command): void {
  withSourceFlags(
    program
      .command('validate')
      .description('Gate a candidate against production on a sample: signature, accuracy, agreement, latency ratio')
      .argument('<candidate>', 'the candidate model: a file, URL or registry reference')
      .requiredOption('--against <production>', 'the model serving now')
      .requiredOption('--data <file>', 'JSON Lines sample: {"inputs": <row>, "label": n} per line')
      .option('--labels <field>', "the field holding each row's expected label (enables the accuracy checks)")
      .option('--inputs-field <field>', 'the field holding each row\'s inputs (default "inputs")')
      .option('--output <name>', 'the output holding the prediction (default: the first; arg-max per row)')
      .option('--min-accuracy <ratio>', 'smallest accuracy on the sample (needs --labels)', ratioOption)
      .option('--max-accuracy-drop <ratio>', 'largest accuracy drop against production (needs --labels)', ratioOption)
      .option('--max-latency-ratio <ratio>', 'largest median-latency ratio candidate/production', numberOption)
      .option('--min-agreement <ratio>', 'smallest share of rows predicted as production does', ratioOption)
      .option('--latency-runs <n>', 'runs per model for the median latency (default 5)', intOption)
      .option('--junit <file>', 'write JUnit XML for the CI system')
      .option('--json', 'print the report as JSON'),
  )
    .addHelpText(
      'after',
      `
Exit codes: 0 every check passed; 1 a check failed; 2 usage or infrastructure error (a model or the sample
could not be read: the JUnit file then holds one <error>).

Examples:
  $ modelship validate ./candidate.onnx --against ./production.onnx --data samples.jsonl --labels label \\
      --min-accuracy 0.9 --max-accuracy-drop 0.01 --max-latency-ratio 1.5 --junit validate.xml
  $ modelship validate mnist@candidate --against mnist@production --data s.jsonl --min-agreement 0.98`,
    )
    .action(async (candidate: string, flags: ValidateFlags) => {
      process.exitCode = await runValidate(candidate, flags);
    });
}
