import { userInfo } from 'node:os';
import { basename } from 'node:path';

/**
 * The tags MLflow's own clients set on every run (`mlflow.user`, `mlflow.source.name`, `mlflow.source.type`),
 * so runs logged by modelship look the same in the UI as runs logged from Python.
 */
export function mlflowSystemTags(): Record<string, string> {
  let user = process.env.USER ?? process.env.USERNAME ?? '';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers running as an arbitrary uid): keep the environment's answer.
  }
  const script = process.argv[1];
  return {
    ...(user === '' ? {} : { 'mlflow.user': user }),
    'mlflow.source.name': script === undefined ? 'node' : basename(script),
    'mlflow.source.type': 'LOCAL',
  };
}
