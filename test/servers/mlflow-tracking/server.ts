/** Starts the MLflow tracking test server (see handler.ts) on a free port. */
import { startRestartableServer, type RestartableServer } from '../restartable-server.js';
import { handleMlflowTracking } from './handler.js';
import { createMlflowTrackingState, type MlflowTrackingState } from './state.js';

export interface MlflowTrackingServer extends RestartableServer {
  readonly state: MlflowTrackingState;
}

export async function startMlflowTrackingServer(
  state: MlflowTrackingState = createMlflowTrackingState(),
): Promise<MlflowTrackingServer> {
  const server = await startRestartableServer((req, res) => handleMlflowTracking(req, res, state));
  return Object.assign(server, { state });
}
