import { InBrowser } from './in-browser';

export const metadata = { title: 'modelship · Next.js · in the browser' };

export default function Page() {
  return (
    <main>
      <h1>The same model, in the browser</h1>
      <p>
        This page loads <code>/mnist.onnx</code> with <code>modelship/browser</code> (onnxruntime-web, cached in the
        Cache API) and classifies the same test digits without calling the server.
      </p>
      <InBrowser />
    </main>
  );
}
