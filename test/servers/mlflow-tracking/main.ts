/** Standalone: `npx tsx test/servers/mlflow-tracking/main.ts` serves the MLflow tracking API until Ctrl-C. */
import { startMlflowTrackingServer } from './server.js';

const server = await startMlflowTrackingServer();
console.log(`MLflow tracking test server on ${server.url} (MLFLOW_TRACKING_URI=${server.url})`);
process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
