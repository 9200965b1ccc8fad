/**
 * An Azure Resource Manager test server for Azure Machine Learning (arm-handler.ts), over TLS with a self-signed
 * certificate: Azure clients refuse to send bearer tokens over plain http, so ARM is only ever spoken over https.
 * Tests trust the certificate through an undici Agent (`dispatcher`). It can be stopped and started on the same port.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { createArmState, handleArm, type ArmState } from './arm-handler.js';
import { selfSignedCertificate } from './tls.js';

export interface ArmTestServer {
  /** `https://127.0.0.1:<port>`, stable across restarts. */
  readonly url: string;
  readonly state: ArmState;
  /** The certificate to trust (PEM). */
  readonly ca: string;
  /** An undici dispatcher trusting `ca`. */
  readonly dispatcher: Agent;
  /** A valid token, and an `@azure/identity`-shaped credential that hands it out. */
  readonly token: string;
  readonly credential: { getToken(): Promise<{ token: string; expiresOnTimestamp: number }> };
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export const SUBSCRIPTION = '00000000-0000-4000-8000-000000000001';
export const RESOURCE_GROUP = 'ml-rg';

/** Adds a workspace whose default datastore `workspaceblobstore` is a container of the given storage account. */
export function addWorkspace(
  state: ArmState,
  name: string,
  storage: { account: string; key: string; container: string },
): void {
  state.scopes.set(`workspaces/${name}`, {
    models: new Map(),
    datastores: new Map([
      [
        'workspaceblobstore',
        {
          // A GET never returns the secrets (credentials.secrets is omitted); listSecrets does.
          properties: {
            datastoreType: 'AzureBlob',
            accountName: storage.account,
            containerName: storage.container,
            endpoint: 'core.windows.net',
            protocol: 'https',
            isDefault: true,
            serviceDataAccessAuthIdentity: 'None',
            credentials: { credentialsType: 'AccountKey' },
          },
          secrets: { secretsType: 'AccountKey', key: storage.key },
        },
      ],
    ]),
  });
}

export async function startArmServer(): Promise<ArmTestServer> {
  const { key, cert } = selfSignedCertificate();
  const state = createArmState(SUBSCRIPTION, RESOURCE_GROUP);
  const token = `arm-token-${Math.random().toString(36).slice(2)}`;
  state.tokens.add(token);
  let origin = '';
  const make = (): Server =>
    createServer({ key, cert }, (req, res) => {
      handleArm(req, res, state, origin)
        .then((handled) => {
          if (!handled && !res.headersSent) {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end(
              JSON.stringify({
                error: {
                  code: 'InvalidResourceType',
                  message: `The resource type could not be found for ${req.url ?? ''}.`,
                },
              }),
            );
          }
        })
        .catch((error: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'InternalServerError', message: String(error) } }));
        });
    });
  const listen = (s: Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve((s.address() as AddressInfo).port));
    });
  let server: Server | undefined = make();
  const port = await listen(server, 0);
  origin = `https://127.0.0.1:${port}`;
  const dispatcher = new Agent({ connect: { ca: cert } });
  const self: ArmTestServer = {
    url: origin,
    state,
    ca: cert,
    dispatcher,
    token,
    credential: { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) },
    async stop() {
      const s = server;
      if (s === undefined) return;
      server = undefined;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
    async start() {
      if (server !== undefined) return;
      const s = make();
      await listen(s, port);
      server = s;
    },
    async close() {
      await self.stop();
      await dispatcher.close();
    },
  };
  return self;
}
