/**
 * The Compute Engine metadata server as ADC reaches it on Google Cloud (cloud.google.com/compute/docs/metadata/querying-metadata):
 * every request must carry `Metadata-Flavor: Google` (else 403), every answer carries it back; the token endpoint
 * `/computeMetadata/v1/instance/service-accounts/default/token` answers `{access_token, expires_in, token_type}`;
 * `/computeMetadata/v1/project/project-id` the project id as text. google-auth-library finds it through
 * `GCE_METADATA_HOST`.
 */
import { randomBytes } from 'node:crypto';
import { startRestartableServer, type RestartableServer } from '../restartable-server.js';

export interface MetadataServer extends RestartableServer {
  /** The access token it hands out (the Vertex test server must be told to accept it). */
  readonly token: string;
  readonly tokenRequests: number;
}

export async function startMetadataServer(project: string): Promise<MetadataServer> {
  const token = `ya29.${randomBytes(24).toString('base64url')}`;
  let tokenRequests = 0;
  const server = await startRestartableServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403, { 'content-type': 'text/html' });
      res.end('Missing Metadata-Flavor:Google header.');
      return true;
    }
    const send = (type: string, body: string): true => {
      res.writeHead(200, { 'metadata-flavor': 'Google', 'content-type': type });
      res.end(body);
      return true;
    };
    if (path === '/computeMetadata/v1/instance' || path === '/computeMetadata/v1/instance/')
      return send('text/plain', '');
    if (path === '/computeMetadata/v1/project/project-id') return send('application/text', project);
    if (path === '/computeMetadata/v1/instance/service-accounts/default/token') {
      tokenRequests += 1;
      return send('application/json', JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
    }
    res.writeHead(404, { 'metadata-flavor': 'Google', 'content-type': 'text/html' });
    res.end('Not Found');
    return true;
  });
  // defineProperty, not Object.assign: assign would copy the getter's value once.
  return Object.defineProperties(server, {
    token: { value: token },
    tokenRequests: { get: () => tokenRequests },
  }) as MetadataServer;
}
