/**
 * What the guides' short fragments take as already there: a model loaded a few lines earlier, an input batch,
 * a registry, an Express app. A fragment that uses one of these names is checked against its real type; a
 * block that declares the name itself shadows it (every block is a module).
 */
import type { Express } from 'express';
import type { LocalRegistry, Model, TrackingClient } from 'modelship';

declare global {
  /** A model from `await loadModel('mnist@production')`. */
  const model: Model;
  /** A batch of MNIST rows (784 floats each). */
  const pixels: number[][];
  /** One MNIST row. */
  const row: number[];
  /** A sample of the training inputs (MNIST rows), e.g. for a drift baseline. */
  const trainImages: number[][];
  /** An input as a request would carry it. */
  const input: number[][];
  /** A registry from `createLocalRegistry()`, `createMlflowRegistry()`, … */
  const registry: LocalRegistry;
  /** A tracker from `createTracker()`. */
  const tracker: TrackingClient;
  const signal: AbortSignal;
  const app: Express;
  /** The admin token (16 characters or more). */
  const token: string;
  const userId: string;
  const url: string;
  /** A model file's sha256, 64 hex digits. */
  const digest: string;
  const loss: number;
  const accuracy: number;
  /** The page's own UI code. */
  function render(label: unknown): void;
  function showProgress(loaded: number, total: number | undefined, cached: boolean): void;
}
