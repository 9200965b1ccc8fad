/** Standalone: `npx tsx test/servers/wandb/main.ts` serves the W&B endpoints (API key `test-key`) until Ctrl-C. */
import { startWandbServer } from './server.js';

const server = await startWandbServer();
console.log(`W&B test server on ${server.url} (WANDB_BASE_URL=${server.url} WANDB_API_KEY=${server.state.apiKey})`);
process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
