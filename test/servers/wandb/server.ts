/** Starts the W&B test server (see handler.ts) on a free port. */
import { startRestartableServer, type RestartableServer } from '../restartable-server.js';
import { createWandbState, handleWandb, type WandbState } from './handler.js';

export interface WandbTestServer extends RestartableServer {
  readonly state: WandbState;
}

export async function startWandbServer(state: WandbState = createWandbState()): Promise<WandbTestServer> {
  const server = await startRestartableServer((req, res) => handleWandb(req, res, state));
  state.url = server.url;
  return Object.assign(server, { state });
}
