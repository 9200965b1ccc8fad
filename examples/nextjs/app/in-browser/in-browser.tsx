'use client';

import { useEffect, useState } from 'react';

/** Loads the model in the browser once mounted (never during server rendering) and classifies the sample digits. */
export function InBrowser() {
  const [status, setStatus] = useState('Loading the model…');
  const [labels, setLabels] = useState<number[]>();

  useEffect(() => {
    let cancelled = false;
    (async () => {
      // Imported lazily: modelship/browser and onnxruntime-web only load in the browser, in their own chunk.
      const { loadModel } = await import('modelship/browser');
      const samples = (await (await fetch('/samples.json')).json()) as { pixels: number[] }[];
      const model = await loadModel('/mnist.onnx', {
        onProgress: ({ loaded, total, cached }) =>
          !cancelled &&
          setStatus(cached ? 'Model loaded from the cache.' : `Downloading: ${loaded} of ${total ?? '?'} bytes`),
      });
      const out = await model.predict(samples.map((s) => s.pixels));
      if (!cancelled) {
        setLabels(out.label?.toArray() as number[]);
        setStatus((s) => `${s} Done.`);
      }
    })().catch((error: unknown) => !cancelled && setStatus(`Error: ${String(error)}`));
    return () => {
      cancelled = true;
    };
  }, []);

  return (
    <div>
      <p id="status">{status}</p>
      <p>
        Predicted: <output id="labels">{labels ? labels.join(', ') : '…'}</output>
      </p>
    </div>
  );
}
