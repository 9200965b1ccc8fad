// Runs onnxruntime-web off the page's main thread: the page keeps drawing smoothly while the model works.
import { createOnnxWebBackend, serveBackend } from 'modelship/browser';

serveBackend(createOnnxWebBackend());
