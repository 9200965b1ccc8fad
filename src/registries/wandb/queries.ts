/** The GraphQL operations of W&B's public API that the official SDKs send, trimmed to the fields modelship reads. */

const ARTIFACT_FIELDS = `id digest versionIndex state description metadata createdAt size
  aliases { alias artifactCollection { name } }
  artifactType { name }
  artifactSequence { name }`;

/** One artifact version by `name:alias` or `name:vN`. */
export const ARTIFACT_BY_NAME = `query ArtifactByName($entityName: String!, $projectName: String!, $name: String!) {
  project(name: $projectName, entityName: $entityName) {
    artifact(name: $name) { ${ARTIFACT_FIELDS} }
  }
}`;

/** An artifact collection's versions, paged. */
export const ARTIFACT_COLLECTION = `query ArtifactCollection($entityName: String!, $projectName: String!, $name: String!, $cursor: String, $perPage: Int) {
  project(name: $projectName, entityName: $entityName) {
    artifactCollection(name: $name) {
      id name
      artifacts(after: $cursor, first: $perPage) {
        edges { node { ${ARTIFACT_FIELDS} } cursor }
        pageInfo { endCursor hasNextPage }
      }
    }
  }
}`;

/** The files of one artifact version, with their download URLs. */
export const ARTIFACT_FILES = `query ArtifactFiles($entityName: String!, $projectName: String!, $name: String!, $cursor: String, $perPage: Int) {
  project(name: $projectName, entityName: $entityName) {
    artifact(name: $name) {
      files(after: $cursor, first: $perPage) {
        edges { node { id name: displayName sizeBytes digest md5 directUrl } cursor }
        pageInfo { endCursor hasNextPage }
      }
    }
  }
}`;

/** Starts a new artifact version (publish). */
export const CREATE_ARTIFACT = `mutation CreateArtifact($input: CreateArtifactInput!) {
  createArtifact(input: $input) { artifact { id state versionIndex digest } }
}`;

/** Creates the manifest of a new artifact version. */
export const CREATE_ARTIFACT_MANIFEST = `mutation CreateArtifactManifest($input: CreateArtifactManifestInput!) {
  createArtifactManifest(input: $input) { artifactManifest { id file { id name uploadUrl uploadHeaders } } }
}`;

/** Registers files of a new artifact version and gets their upload URLs. */
export const CREATE_ARTIFACT_FILES = `mutation CreateArtifactFiles($input: CreateArtifactFilesInput!) {
  createArtifactFiles(input: $input) { files { edges { node { id name: displayName uploadUrl uploadHeaders artifact { id } } } } }
}`;

/** Commits a new artifact version once its files are uploaded. */
export const COMMIT_ARTIFACT = `mutation CommitArtifact($input: CommitArtifactInput!) {
  commitArtifact(input: $input) { artifact { id digest versionIndex } }
}`;

/** Adds aliases to an artifact version. */
export const ADD_ALIASES = `mutation AddAliases($input: AddAliasesInput!) { addAliases(input: $input) { success } }`;
/** Removes aliases from an artifact collection. */
export const DELETE_ALIASES = `mutation DeleteAliases($input: DeleteAliasesInput!) { deleteAliases(input: $input) { success } }`;

/** An artifact version as these queries return it. `metadata` is a JSON string. */
export interface WandbArtifact {
  readonly id: string;
  readonly digest?: string;
  readonly versionIndex: number;
  readonly state?: string;
  readonly description?: string | null;
  readonly metadata?: string | null;
  readonly createdAt?: string;
  readonly size?: number;
  readonly aliases?: readonly {
    readonly alias: string;
    readonly artifactCollection?: { readonly name: string } | null;
  }[];
  readonly artifactType?: { readonly name: string };
  readonly artifactSequence?: { readonly name: string };
}

/** A file of an artifact version; `digest` and `md5` are base64 MD5, `directUrl` a (signed) download URL. */
export interface WandbFile {
  readonly id?: string;
  readonly name: string;
  readonly sizeBytes?: number;
  readonly digest?: string;
  readonly md5?: string;
  readonly directUrl?: string;
}

/** A page of a connection. */
export interface Connection<T> {
  readonly edges: readonly { readonly node: T; readonly cursor?: string }[];
  readonly pageInfo?: { readonly endCursor?: string | null; readonly hasNextPage?: boolean };
}
