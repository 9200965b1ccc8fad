/** Azurite + the TLS ARM server with one workspace whose default datastore is an Azurite container. */
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { addWorkspace, startArmServer, type ArmTestServer } from './arm-server.js';
import { startAzurite, type Azurite } from './azurite.js';

export interface AzureMlFixture {
  readonly arm: ArmTestServer;
  readonly azurite: Azurite;
  readonly container: string;
  readonly blobs: BlobServiceClient;
  /** Options for createAzureMlRegistry pointing at both servers. */
  readonly options: {
    subscriptionId: string;
    resourceGroup: string;
    workspace: string;
    armEndpoint: string;
    blobEndpoint: string;
    credential: ArmTestServer['credential'];
    dispatcher: ArmTestServer['dispatcher'];
  };
  close(): Promise<void>;
}

export async function startAzureMl(): Promise<AzureMlFixture> {
  const [arm, azurite] = await Promise.all([startArmServer(), startAzurite()]);
  const container = 'azureml-blobstore-0000';
  const blobs = new BlobServiceClient(
    azurite.blobEndpoint,
    new StorageSharedKeyCredential(azurite.account, azurite.key),
  );
  await blobs.getContainerClient(container).create();
  addWorkspace(arm.state, 'ml-ws', { account: azurite.account, key: azurite.key, container });
  return {
    arm,
    azurite,
    container,
    blobs,
    options: {
      subscriptionId: arm.state.subscriptionId,
      resourceGroup: arm.state.resourceGroup,
      workspace: 'ml-ws',
      armEndpoint: arm.url,
      blobEndpoint: azurite.blobEndpoint,
      credential: arm.credential,
      dispatcher: arm.dispatcher,
    },
    close: async () => {
      await Promise.all([arm.close(), azurite.stop()]);
    },
  };
}
