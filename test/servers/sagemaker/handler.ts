/**
 * The SageMaker API operations modelship uses, over AWS JSON 1.1 as the real service speaks it: `POST /` with
 * `X-Amz-Target: SageMaker.<Operation>` and `Content-Type: application/x-amz-json-1.1`, timestamps as epoch seconds,
 * errors as HTTP 400 with `{ "__type": "ValidationException", "message": … }` (SageMaker reports most missing
 * resources as ValidationException "… does not exist"), paging with `MaxResults` (≤ 100) and `NextToken`.
 * Operations: CreateModelPackageGroup, DescribeModelPackageGroup, CreateModelPackage, DescribeModelPackage,
 * ListModelPackages, UpdateModelPackage (and AddTags, ListTags, DeleteModelPackageGroup in ./tags.ts). Requests must be SigV4-signed with the configured access key id (the
 * signature itself is not checked). The runtime's `InvokeEndpoint` (REST-JSON, `POST /endpoints/<name>/invocations`)
 * is answered by `state.endpoints`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../http-util.js';
import { takeFault, type Fault } from '../faults.js';
import { tagOperation } from './tags.js';

export interface StoredPackage {
  ModelPackageGroupName: string;
  ModelPackageVersion: number;
  ModelPackageArn: string;
  ModelPackageDescription?: string;
  CreationTime: number;
  ModelPackageStatus: 'Completed';
  ModelApprovalStatus: string;
  ApprovalDescription?: string;
  InferenceSpecification?: Record<string, unknown>;
  CustomerMetadataProperties: Record<string, string>;
  ClientToken?: string;
}

/** What an endpoint answers: the JSON it returns for a request body, or an error to raise. */
export type EndpointHandler = (body: unknown, variant: string | undefined) => EndpointAnswer | Promise<EndpointAnswer>;
export interface EndpointAnswer {
  status?: number;
  body: unknown;
  variant?: string;
}

export interface SageMakerState {
  accessKeyId: string;
  region: string;
  account: string;
  groups: Map<
    string,
    {
      ModelPackageGroupName: string;
      ModelPackageGroupArn: string;
      CreationTime: number;
      ModelPackageGroupDescription?: string;
    }
  >;
  packages: StoredPackage[];
  endpoints: Map<string, EndpointHandler>;
  requests: { target: string; status: number }[];
  faults: Fault[];
}

export function createSageMakerState(accessKeyId = 'AKIDMODELSHIP'): SageMakerState {
  return {
    accessKeyId,
    region: 'us-east-1',
    account: '123456789012',
    groups: new Map(),
    packages: [],
    endpoints: new Map(),
    requests: [],
    faults: [],
  };
}

class AwsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}
const validation = (message: string): AwsFault => new AwsFault('ValidationException', message);
const now = (): number => Date.now() / 1000;

function operation(state: SageMakerState, op: string, input: Record<string, unknown>): unknown {
  const packageArn = (group: string, version: number): string =>
    `arn:aws:sagemaker:${state.region}:${state.account}:model-package/${group.toLowerCase()}/${version}`;
  const findPackage = (name: unknown): StoredPackage => {
    const p = state.packages.find(
      (x) => x.ModelPackageArn === name || `${x.ModelPackageGroupName}/${x.ModelPackageVersion}` === name,
    );
    if (p === undefined) throw validation(`ModelPackage ${String(name)} does not exist.`);
    return p;
  };
  switch (op) {
    case 'CreateModelPackageGroup': {
      const name = String(input.ModelPackageGroupName ?? '');
      if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(name))
        throw validation(
          `1 validation error detected: Value '${name}' at 'modelPackageGroupName' failed to satisfy constraint`,
        );
      if (state.groups.has(name))
        throw validation(
          `Model Package Group already exists: arn:aws:sagemaker:${state.region}:${state.account}:model-package-group/${name.toLowerCase()}`,
        );
      const arn = `arn:aws:sagemaker:${state.region}:${state.account}:model-package-group/${name.toLowerCase()}`;
      state.groups.set(name, {
        ModelPackageGroupName: name,
        ModelPackageGroupArn: arn,
        CreationTime: now(),
        ...(typeof input.ModelPackageGroupDescription === 'string'
          ? { ModelPackageGroupDescription: input.ModelPackageGroupDescription }
          : {}),
      });
      return { ModelPackageGroupArn: arn };
    }
    case 'DescribeModelPackageGroup': {
      const g = state.groups.get(String(input.ModelPackageGroupName));
      if (g === undefined) throw validation(`ModelPackageGroup ${String(input.ModelPackageGroupName)} does not exist.`);
      return { ...g, ModelPackageGroupStatus: 'Completed', CreatedBy: {} };
    }
    case 'CreateModelPackage': {
      const group = String(input.ModelPackageGroupName ?? '');
      if (!state.groups.has(group)) throw validation(`Model Package Group does not exist: ${group}`);
      const repeat = state.packages.find((p) => input.ClientToken !== undefined && p.ClientToken === input.ClientToken);
      if (repeat !== undefined) return { ModelPackageArn: repeat.ModelPackageArn };
      const spec = input.InferenceSpecification as { Containers?: { Image?: string }[] } | undefined;
      if (spec !== undefined && (spec.Containers?.length ?? 0) === 0)
        throw validation('InferenceSpecification.Containers must have at least 1 element');
      if (spec?.Containers?.some((c) => typeof c.Image !== 'string' || c.Image === ''))
        throw validation(
          "Value null at 'inferenceSpecification.containers.1.member.image' failed to satisfy constraint: Member must not be null",
        );
      const props = (input.CustomerMetadataProperties ?? {}) as Record<string, string>;
      for (const [k, v] of Object.entries(props))
        if (k.length > 128 || v.length > 256) throw validation(`CustomerMetadataProperties entry ${k} is too long`);
      const version = state.packages.filter((p) => p.ModelPackageGroupName === group).length + 1;
      const pkg: StoredPackage = {
        ModelPackageGroupName: group,
        ModelPackageVersion: version,
        ModelPackageArn: packageArn(group, version),
        CreationTime: now(),
        ModelPackageStatus: 'Completed',
        ModelApprovalStatus: String(input.ModelApprovalStatus ?? 'PendingManualApproval'),
        ...(spec === undefined ? {} : { InferenceSpecification: spec as Record<string, unknown> }),
        ...(typeof input.ModelPackageDescription === 'string'
          ? { ModelPackageDescription: input.ModelPackageDescription }
          : {}),
        CustomerMetadataProperties: { ...props },
        ...(typeof input.ClientToken === 'string' ? { ClientToken: input.ClientToken } : {}),
      };
      state.packages.push(pkg);
      return { ModelPackageArn: pkg.ModelPackageArn };
    }
    case 'DescribeModelPackage': {
      const { ClientToken: _token, ...p } = findPackage(input.ModelPackageName);
      return { ...p, ModelPackageName: p.ModelPackageGroupName, CreatedBy: {} };
    }
    case 'ListModelPackages': {
      const max = input.MaxResults === undefined ? 10 : Number(input.MaxResults);
      if (!Number.isInteger(max) || max < 1 || max > 100)
        throw validation(
          `Value '${String(input.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100`,
        );
      let list = state.packages.filter(
        (p) => input.ModelPackageGroupName === undefined || p.ModelPackageGroupName === input.ModelPackageGroupName,
      );
      if (input.ModelApprovalStatus !== undefined)
        list = list.filter((p) => p.ModelApprovalStatus === input.ModelApprovalStatus);
      list.sort((a, b) =>
        input.SortBy === 'Name'
          ? a.ModelPackageArn.localeCompare(b.ModelPackageArn)
          : a.CreationTime - b.CreationTime || a.ModelPackageVersion - b.ModelPackageVersion,
      );
      if (input.SortOrder === 'Descending') list.reverse();
      const start =
        typeof input.NextToken === 'string'
          ? Number(Buffer.from(input.NextToken, 'base64').toString().replace('page:', ''))
          : 0;
      if (!Number.isInteger(start)) throw validation('Invalid pagination token');
      const page = list.slice(start, start + max);
      return {
        ModelPackageSummaryList: page.map((p) => ({
          ModelPackageGroupName: p.ModelPackageGroupName,
          ModelPackageVersion: p.ModelPackageVersion,
          ModelPackageArn: p.ModelPackageArn,
          ModelPackageDescription: p.ModelPackageDescription,
          CreationTime: p.CreationTime,
          ModelPackageStatus: p.ModelPackageStatus,
          ModelApprovalStatus: p.ModelApprovalStatus,
        })),
        ...(start + max < list.length ? { NextToken: Buffer.from(`page:${start + max}`).toString('base64') } : {}),
      };
    }
    case 'UpdateModelPackage': {
      const p = findPackage(input.ModelPackageArn);
      if (typeof input.ModelApprovalStatus === 'string') p.ModelApprovalStatus = input.ModelApprovalStatus;
      if (typeof input.ApprovalDescription === 'string') p.ApprovalDescription = input.ApprovalDescription;
      Object.assign(p.CustomerMetadataProperties, (input.CustomerMetadataProperties ?? {}) as Record<string, string>);
      for (const k of (input.CustomerMetadataPropertiesToRemove ?? []) as string[])
        delete p.CustomerMetadataProperties[k];
      return { ModelPackageArn: p.ModelPackageArn };
    }
    default: {
      const tagged = tagOperation(state, op, input, (type, message) => new AwsFault(type, message));
      if (tagged !== undefined) return tagged;
      throw new AwsFault('UnknownOperationException', `Operation ${op} is not supported by this test server`);
    }
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  type = 'application/x-amz-json-1.1',
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': 'test-request',
    ...headers,
  });
  res.end(text);
}

/** Handles the SageMaker API and runtime routes; resolves `false` for others. */
export async function handleSageMaker(
  req: IncomingMessage,
  res: ServerResponse,
  state: SageMakerState,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const invoke = /^\/endpoints\/([^/]+)\/invocations$/.exec(url.pathname);
  const target = String(req.headers['x-amz-target'] ?? '');
  if (!(req.method === 'POST' && ((url.pathname === '/' && target.startsWith('SageMaker.')) || invoke !== null)))
    return false;
  const entry = { target: invoke !== null ? 'InvokeEndpoint' : target.slice('SageMaker.'.length), status: 200 };
  state.requests.push(entry);
  const raw = await readBody(req);
  const fault = takeFault(state.faults, invoke !== null ? url.pathname : entry.target);
  if (fault !== undefined) {
    entry.status = fault.status;
    send(res, fault.status, { __type: 'ServiceUnavailable', message: 'injected failure' });
    return true;
  }
  const auth = String(req.headers.authorization ?? '');
  if (!auth.startsWith(`AWS4-HMAC-SHA256 Credential=${state.accessKeyId}/`)) {
    entry.status = 400;
    send(res, 400, {
      __type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
    return true;
  }
  if (invoke !== null) {
    const endpoint = state.endpoints.get(decodeURIComponent(invoke[1] as string));
    if (endpoint === undefined) {
      entry.status = 400;
      send(
        res,
        400,
        {
          ErrorCode: 'ValidationError',
          message: `Endpoint ${decodeURIComponent(invoke[1] as string)} of account ${state.account} not found.`,
        },
        'application/json',
        { 'x-amzn-errortype': 'ValidationError:http://internal.amazon.com/coral/com.amazon.sagemaker/' },
      );
      return true;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const variant = req.headers['x-amzn-sagemaker-target-variant'];
    const out = await endpoint(body, typeof variant === 'string' ? variant : undefined);
    entry.status = out.status ?? 200;
    if (entry.status !== 200) {
      // A model error: the container answered non-2xx; the runtime wraps it as ModelError (HTTP 424).
      send(
        res,
        424,
        {
          __type: 'ModelError',
          message: `Received client error (${entry.status}) from primary with message "${JSON.stringify(out.body)}".`,
          OriginalStatusCode: entry.status,
        },
        'application/json',
        { 'x-amzn-errortype': 'ModelError:' },
      );
      entry.status = 424;
      return true;
    }
    send(res, 200, out.body, 'application/json', {
      'x-amzn-invoked-production-variant': out.variant ?? variant?.toString() ?? 'AllTraffic',
    });
    return true;
  }
  if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
    entry.status = 400;
    send(res, 400, { __type: 'SerializationException', message: 'Expected application/x-amz-json-1.1' });
    return true;
  }
  try {
    const input = (raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'))) as Record<string, unknown>;
    send(res, 200, operation(state, entry.target, input));
  } catch (error) {
    const fault2 = error instanceof AwsFault ? error : new AwsFault('InternalFailure', String(error), 500);
    entry.status = fault2.status;
    send(res, fault2.status, { __type: fault2.type, message: fault2.message });
  }
  return true;
}
