/** In-memory state of the MLflow tracking test server, inspectable by tests. */
import type { Fault } from '../faults.js';

export interface StoredMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface StoredRun {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
  startTime: number;
  endTime?: number;
  artifactUri: string;
  /** Every point in arrival order, identical points stored once (as the SQL store does). */
  metrics: StoredMetric[];
  params: Map<string, string>;
  tags: Map<string, string>;
}

export interface StoredExperiment {
  experimentId: string;
  name: string;
  creationTime: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  bytes: number;
  status: number;
}

export interface MlflowTrackingState {
  experiments: Map<string, StoredExperiment>;
  runs: Map<string, StoredRun>;
  /** Artifact bytes by path under `mlflow-artifacts:/` (`<exp>/<run>/artifacts/<path>`). */
  artifacts: Map<string, Buffer>;
  requests: LoggedRequest[];
  faults: Fault[];
  /** When set, every request needs `Authorization: Bearer <token>` (a token-checking proxy in front of MLflow). */
  token?: string;
  /** When set, every request needs these Basic credentials (MLflow's basic-auth app, `mlflow server --app-name basic-auth`). */
  basic?: { username: string; password: string };
  nextExperimentId: number;
  /** Metric points received in log-batch requests, duplicates included. */
  metricsReceived: number;
}

export function createMlflowTrackingState(): MlflowTrackingState {
  const state: MlflowTrackingState = {
    experiments: new Map(),
    runs: new Map(),
    artifacts: new Map(),
    requests: [],
    faults: [],
    nextExperimentId: 1,
    metricsReceived: 0,
  };
  // A real server always has the Default experiment.
  state.experiments.set('0', { experimentId: '0', name: 'Default', creationTime: 0 });
  return state;
}

/** The run whose `modelship.run_key` tag is `key` (or whose name is `key`). */
export function runByTag(state: MlflowTrackingState, tag: string, value: string): StoredRun | undefined {
  return [...state.runs.values()].find((r) => r.tags.get(tag) === value);
}

/** Metric points of one key in arrival order. */
export function metricHistory(run: StoredRun, key: string): StoredMetric[] {
  return run.metrics.filter((m) => m.key === key);
}
