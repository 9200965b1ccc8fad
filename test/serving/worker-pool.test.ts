/**
 * The worker-thread pool with the real runtime: results bitwise equal to a direct onnxruntime session, a
 * worker killed mid-batch, close() under load.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, loadModel, silentLogger, type LoadModelOptions, type Model } from 'modelship';
import { createOnnxNodeBackend } from '../../src/backends/onnx-node/index.js';
import type { WorkerPoolSession } from '../../src/backends/onnx-node/worker-pool.js';
import { defaultWorkerNice, withoutRefusedFlags, workerExecArgv } from '../../src/backends/onnx-node/worker-start.js';
import { stopSpares } from '../../src/backends/onnx-node/spare-workers.js';
import { IMAGE_SIZE } from '../../examples/shared/mnist-data.js';
import { slowModel, tinyMnist } from '../helpers/models.js';
import { rejection } from '../helpers/errors.js';

async function pooled(
  bytes: Uint8Array,
  workers: number,
): Promise<{ model: Model; session: WorkerPoolSession; events: string[] }> {
  const events: string[] = [];
  const sink: { model?: ReturnType<typeof createModel> } = {};
  const session = (await createOnnxNodeBackend().createSession(
    { bytes },
    {
      workers,
      intraOpNumThreads: 1,
      onEvent: (e) => {
        events.push(e.type);
        sink.model?.backendEvent(e);
      },
    },
  )) as WorkerPoolSession;
  const model = createModel({
    name: 'm',
    version: '1',
    sha256: 'test',
    size: bytes.byteLength,
    session,
    platform: 'onnxruntime_onnx',
    metadata: {},
    source: { ref: 'test' },
    warmup: true,
    logger: silentLogger,
  });
  sink.model = model;
  await model.ready();
  return { model, session, events };
}

const open: Model[] = [];
afterAll(async () => {
  await Promise.all(open.map((m) => m.close()));
});

describe('worker pool', () => {
  it('gives results bitwise equal to a direct onnxruntime session, for batched and unbatched calls', async () => {
    const { onnx, test } = tinyMnist();
    const { model } = await pooled(onnx, 2);
    open.push(model);
    expect(model.stats().concurrency).toBe(2);
    const direct = await ort.InferenceSession.create(onnx);
    const rows = 50;
    const images = test.images.subarray(0, rows * IMAGE_SIZE);
    const reference = await direct.run({ pixels: new ort.Tensor('float32', images, [rows, IMAGE_SIZE]) });
    const refProbs = reference.probabilities?.data as Float32Array;
    const refLabels = reference.label?.data as BigInt64Array;
    // 50 concurrent single-row calls: they are batched together in whatever groups the queue forms.
    const outs = await Promise.all(
      Array.from({ length: rows }, (_, i) => model.predict(images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE))),
    );
    outs.forEach((out, i) => {
      const probs = out.probabilities?.data as Float32Array;
      expect(new Uint32Array(probs.buffer, probs.byteOffset, 10)).toEqual(
        new Uint32Array(refProbs.buffer, refProbs.byteOffset + i * 40, 10),
      );
      expect(out.label?.data).toEqual(refLabels.subarray(i, i + 1));
    });
    // One call with all rows at once.
    const whole = await model.predict({ pixels: { data: images, shape: [rows, IMAGE_SIZE] } });
    expect(new Uint32Array((whole.probabilities?.data as Float32Array).buffer)).toEqual(
      new Uint32Array(refProbs.buffer, refProbs.byteOffset, rows * 10),
    );
    await direct.release();
  });

  it('on the calling thread (workers: 0), batched calls are bitwise equal to a direct session too, batch after batch', async () => {
    // Batches there hand onnxruntime a view of reused batch memory, shorter than the memory behind it.
    const { onnx, test } = tinyMnist();
    const model = await loadModel(onnx, { name: 'm', version: '1', workers: 0, logger: silentLogger });
    open.push(model);
    await model.ready();
    const direct = await ort.InferenceSession.create(onnx);
    const rows = 40;
    const images = test.images.subarray(0, rows * IMAGE_SIZE);
    const reference = (await direct.run({ pixels: new ort.Tensor('float32', images, [rows, IMAGE_SIZE]) }))
      .probabilities?.data as Float32Array;
    for (const group of [rows, 7, 23]) {
      const outs = await Promise.all(
        Array.from({ length: group }, (_, i) => model.predict(images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE))),
      );
      outs.forEach((out, i) => {
        const probs = out.probabilities?.data as Float32Array;
        expect(new Uint32Array(probs.buffer, probs.byteOffset, 10)).toEqual(
          new Uint32Array(reference.buffer, reference.byteOffset + i * 40, 10),
        );
      });
    }
    await direct.release();
  });

  it('answers every one of 20k concurrent calls correctly (workers polling and sleeping between calls)', async () => {
    const { onnx, test } = tinyMnist();
    const { model } = await pooled(onnx, 2);
    open.push(model);
    const pixels = test.images.subarray(0, IMAGE_SIZE);
    const reference = Array.from((await model.predict(pixels)).probabilities?.data as Float32Array);
    let wrong = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = 0; i < 320; i++) {
          const out = await model.predict(pixels);
          if (Array.from(out.probabilities?.data as Float32Array).some((v, k) => v !== reference[k])) wrong++;
        }
      }),
    );
    expect(wrong).toBe(0);
  }, 120_000);

  it('rejects requests of a worker that dies mid-batch with WORKER_CRASHED at once, replaces it, and serves the next ones', async () => {
    const { model, session, events } = await pooled(slowModel(), 1);
    open.push(model);
    const x = new Float32Array(256 * 512).fill(1);
    // The worker exits on the next call it picks up: that call was accepted and is in flight when it dies.
    const exited = session.crashWorkerForTesting(0);
    const running = rejection(model.predict({ x: { data: x, shape: [256, 512] } }));
    const queued = model.predict({ x: { data: x, shape: [256, 512] } }); // behind it in the queue
    expect(await exited).toBe(70);
    const error = await running;
    expect([error.code, error.httpStatus, error.retryable]).toEqual(['WORKER_CRASHED', 503, true]);
    // The queued request waited for the replacement worker and was answered by it.
    expect((await queued).y?.shape).toEqual([256, 512]);
    const next = await model.predict({ x: { data: new Float32Array(512).fill(2), shape: [1, 512] } });
    expect(Array.from((next.y?.data as Float32Array).subarray(0, 3))).toEqual([2, 2, 2]);
    expect(events).toContain('worker-crashed');
    expect(events).toContain('worker-restarted');
  }, 120_000);

  it('close() under load answers every accepted request, then refuses new ones with NOT_READY', async () => {
    const { model } = await pooled(tinyMnist().onnx, 2);
    const pixels = tinyMnist().test.images.subarray(0, IMAGE_SIZE);
    const accepted = Array.from({ length: 200 }, () => model.predict(pixels));
    const closing = model.close();
    const refused = await rejection(model.predict(pixels));
    expect(refused.code).toBe('NOT_READY');
    const outs = await Promise.all(accepted);
    expect(outs).toHaveLength(200);
    expect(outs.every((o) => o.label?.data[0] === outs[0]?.label?.data[0])).toBe(true);
    await closing;
    expect(model.state).toBe('closed');
  });

  /**
   * One field of /proc/self/task/<tid>/stat for each of this process's threads, by thread id: `index` counts
   * from the field after the name (19, the nice value, is 16; 41, the scheduling policy, is 38).
   */
  const threadStat = (index: number): Map<string, number> =>
    new Map(
      readdirSync('/proc/self/task').map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return [tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[index])];
      }),
    );
  /** That field of the threads a model's pool starts (two workers, new threads), after one call. */
  const ofNewWorkers = async (index: number, options: Partial<LoadModelOptions>): Promise<number[]> => {
    await stopSpares(); // new threads, not ones kept from an earlier model
    const before = new Set(threadStat(index).keys());
    const model = await loadModel(tinyMnist().onnx, {
      name: 'threads',
      version: '1',
      workers: 2,
      logger: silentLogger,
      ...options,
    });
    await model.ready();
    await model.predict(tinyMnist().test.images.subarray(0, IMAGE_SIZE));
    const added = [...threadStat(index)].filter(([tid]) => !before.has(tid)).map(([, value]) => value);
    await model.close();
    return added;
  };
  const thisThread = (): string => readlinkSync('/proc/thread-self').split('/').pop() as string;

  it.runIf(process.platform === 'linux')(
    'runs the workers (and their onnxruntime threads) nice levels below the loading thread: 1 by default (with several cores), as asked, or not at all',
    async () => {
      const NICE = 16;
      const mine = threadStat(NICE).get(thisThread()) as number;
      const started = (options: { workerNice?: number }): Promise<number[]> => ofNewWorkers(NICE, options);
      const byDefault = await started({});
      const defaultNice = defaultWorkerNice();
      expect(defaultNice).toBe(availableParallelism() > 1 ? 1 : 0); // nothing to gain on a single core
      expect(byDefault.filter((n) => n === Math.min(19, mine + defaultNice)).length).toBeGreaterThanOrEqual(2);
      const asked = await started({ workerNice: 3 });
      expect(asked.filter((n) => n === Math.min(19, mine + 3)).length).toBeGreaterThanOrEqual(2);
      if (mine + 10 <= 19) expect(asked).not.toContain(mine + 10);
      const none = await started({ workerNice: 0 });
      expect(none.length).toBeGreaterThanOrEqual(2);
      expect(none.every((n) => n === mine)).toBe(true);
      for (const workerNice of [20, -1, 1.5]) {
        await expect(loadModel(tinyMnist().onnx, { workerNice }), String(workerNice)).rejects.toMatchObject({
          code: 'INVALID_OPTIONS',
        });
      }
    },
  );

  it.runIf(process.platform === 'linux' && spawnSync('chrt', ['--version']).status === 0)(
    "runs the workers in Linux's SCHED_BATCH by default, in the normal policy when asked, and without chrt as they are",
    async () => {
      const POLICY = 38;
      const SCHED_OTHER = 0;
      const SCHED_BATCH = 3;
      const started = (options: { workerScheduling?: 'batch' | 'normal' }): Promise<number[]> =>
        ofNewWorkers(POLICY, options);
      const byDefault = await started({});
      expect(byDefault.filter((p) => p === SCHED_BATCH).length).toBeGreaterThanOrEqual(2);
      expect(threadStat(POLICY).get(thisThread())).toBe(SCHED_OTHER); // the loading thread keeps its own
      const normal = await started({ workerScheduling: 'normal' });
      expect(normal.length).toBeGreaterThanOrEqual(2);
      expect(normal.every((p) => p === SCHED_OTHER)).toBe(true);
      // No chrt to be found (a distroless image): the workers start and serve in the default policy.
      const path = process.env.PATH;
      process.env.PATH = '/nonexistent';
      try {
        const without = await started({});
        expect(without.length).toBeGreaterThanOrEqual(2);
        expect(without.every((p) => p === SCHED_OTHER)).toBe(true);
      } finally {
        process.env.PATH = path;
      }
      await expect(loadModel(tinyMnist().onnx, { workerScheduling: 'idle' as 'batch' })).rejects.toMatchObject({
        code: 'INVALID_OPTIONS',
      });
    },
  );

  it("starts workers with the parent's flags, minus --input-type and what workers refuse", () => {
    expect(workerExecArgv(['--max-old-space-size=4096', '--import', 'tsx'])).toBeUndefined(); // Node passes what applies
    expect(workerExecArgv(['--input-type=module', '--max-old-space-size=4096', '-e', 'x'])).toEqual([
      '--max-old-space-size=4096',
      '-e',
      'x',
    ]);
    expect(workerExecArgv(['--input-type', 'module', '--conditions', 'dev'])).toEqual(['--conditions', 'dev']);
    expect(
      withoutRefusedFlags(
        ['--max-old-space-size=4096', '--stack-size', '2000', '--conditions=dev'],
        ['--max-old-space-size=4096', '--stack-size'],
      ),
    ).toEqual(['--conditions=dev']);
  });

  it('reports a runtime input error from the worker as INVALID_INPUT, and keeps serving', async () => {
    const { model } = await pooled(slowModel(), 1);
    open.push(model);
    // Shape checks pass in modelship (dynamic dims), the runtime refuses the rank of the data: a worker-side error.
    const error = await rejection(model.predict({ x: { data: new Float32Array(512 * 3), shape: [1, 512, 3] } }));
    expect(error.code).toBe('INVALID_INPUT');
    const ok = await model.predict({ x: { data: new Float32Array(512), shape: [1, 512] } });
    expect(ok.y?.shape).toEqual([1, 512]);
  });
});
