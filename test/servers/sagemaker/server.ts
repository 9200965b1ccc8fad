/** Starts the SageMaker test server (see handler.ts) on a free port. */
import { startRestartableServer, type RestartableServer } from '../restartable-server.js';
import { createSageMakerState, handleSageMaker, type SageMakerState } from './handler.js';

export interface SageMakerTestServer extends RestartableServer {
  readonly state: SageMakerState;
}

export async function startSageMakerServer(
  state: SageMakerState = createSageMakerState(),
): Promise<SageMakerTestServer> {
  const server = await startRestartableServer((req, res) => handleSageMaker(req, res, state));
  return Object.assign(server, { state });
}
