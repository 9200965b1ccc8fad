import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DigitCard } from './digit-card';

interface Sample {
  label: number;
  pixels: number[];
}

export default async function Page() {
  const samples = JSON.parse(await readFile(join(process.cwd(), 'models', 'samples.json'), 'utf8')) as Sample[];
  return (
    <main>
      <h1>MNIST on a Next.js route handler</h1>
      <p>
        Each button sends a held-out test digit to <code>POST /api/predict</code>, where modelship serves the model with
        onnxruntime-node on the Node.js runtime. <a href="/in-browser">The same model in the browser</a> runs on
        onnxruntime-web instead.
      </p>
      <div style={{ display: 'flex', flexWrap: 'wrap', gap: '1rem' }}>
        {samples.map((s, i) => (
          <DigitCard key={i} index={i} label={s.label} pixels={s.pixels} />
        ))}
      </div>
    </main>
  );
}
