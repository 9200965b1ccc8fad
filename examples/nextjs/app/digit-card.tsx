'use client';

import { useEffect, useRef, useState } from 'react';

interface Prediction {
  label: number;
  probability: number;
}

/** One test digit, drawn at 4x, with a button that asks the route handler what it is. */
export function DigitCard({ index, label, pixels }: { index: number; label: number; pixels: number[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [result, setResult] = useState<Prediction | string | undefined>();

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    const image = ctx.createImageData(28, 28);
    pixels.forEach((v, i) => {
      const c = Math.round(v * 255);
      image.data.set([c, c, c, 255], i * 4);
    });
    ctx.putImageData(image, 0, 0);
  }, [pixels]);

  async function predict() {
    setResult('…');
    const res = await fetch('/api/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [pixels] }),
    });
    const body = await res.json();
    if (!res.ok) return setResult(`${body.error.code}: ${body.error.message}`);
    const predicted = body.outputs.label[0] as number;
    setResult({ label: predicted, probability: body.outputs.probabilities[0][predicted] });
  }

  return (
    <figure style={{ margin: 0, textAlign: 'center' }} data-index={index}>
      <canvas
        ref={canvas}
        width={28}
        height={28}
        style={{ width: 112, height: 112, imageRendering: 'pixelated', borderRadius: 6 }}
      />
      <figcaption>
        a {label} ·{' '}
        <button type="button" onClick={predict}>
          Predict
        </button>
        <div className="result">
          {typeof result === 'object'
            ? `model: ${result.label} (${(result.probability * 100).toFixed(1)}%)`
            : (result ?? ' ')}
        </div>
      </figcaption>
    </figure>
  );
}
