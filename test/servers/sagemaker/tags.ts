/**
 * SageMaker's tagging calls and DeleteModelPackageGroup for the test server (the fleet's shared state uses them),
 * answering as the API reference documents:
 * - AddTags (API_AddTags): `{ ResourceArn, Tags }`, 1-50 tags a call; keys 1-128 and values 0-256 characters of
 *   `[\p{L}\p{Z}\p{N}_.:/=+\-@]*` (API_Tag); an existing key's value is overwritten; at most 50 tags a resource
 *   (Tagging AWS resources: the per-resource limit). Answers `{ Tags }`.
 * - ListTags (API_ListTags): `{ ResourceArn, MaxResults (>= 50), NextToken }` → `{ Tags, NextToken? }`, paged.
 * - DeleteModelPackageGroup (API_DeleteModelPackageGroup): an empty 200; ConflictException while the group still
 *   holds model packages. The real service deletes asynchronously (status DELETING); this server deletes at once.
 * Unknown resources are a ValidationException naming the ARN, as SageMaker's other calls answer here.
 */
import type { SageMakerState } from './handler.js';

const TAG = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const tagsOf = new WeakMap<SageMakerState, Map<string, Map<string, string>>>();

/** The tags stored for a resource ARN (for tests that damage or inspect them). */
export function resourceTags(state: SageMakerState, arn: string): Map<string, string> {
  let all = tagsOf.get(state);
  if (all === undefined) tagsOf.set(state, (all = new Map()));
  let tags = all.get(arn);
  if (tags === undefined) all.set(arn, (tags = new Map()));
  return tags;
}

/** Answers a tagging operation, or returns `undefined` when `op` is not one; throws `fault(type, message)`. */
export function tagOperation(
  state: SageMakerState,
  op: string,
  input: Record<string, unknown>,
  fault: (type: string, message: string) => Error,
): unknown {
  const known = (arn: unknown): string => {
    const group = [...state.groups.values()].find((g) => g.ModelPackageGroupArn === arn);
    if (group === undefined) throw fault('ValidationException', `Resource ${String(arn)} does not exist.`);
    return String(arn);
  };
  switch (op) {
    case 'AddTags': {
      const arn = known(input.ResourceArn);
      const tags = (Array.isArray(input.Tags) ? input.Tags : []) as { Key?: unknown; Value?: unknown }[];
      if (tags.length < 1 || tags.length > 50)
        throw fault(
          'ValidationException',
          "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
        );
      for (const t of tags) {
        const key = String(t.Key ?? '');
        const value = String(t.Value ?? '');
        if (key.length < 1 || key.length > 128 || !TAG.test(key) || value.length > 256 || !TAG.test(value))
          throw fault(
            'ValidationException',
            `1 validation error detected: Value '${value}' at 'tags' failed to satisfy constraint`,
          );
      }
      const stored = resourceTags(state, arn);
      const keys = new Set([...stored.keys(), ...tags.map((t) => String(t.Key))]);
      if (keys.size > 50) throw fault('ResourceLimitExceeded', `Too many tags for resource ${arn}: at most 50.`);
      for (const t of tags) stored.set(String(t.Key), String(t.Value ?? ''));
      return { Tags: tags };
    }
    case 'ListTags': {
      const arn = known(input.ResourceArn);
      const max = input.MaxResults === undefined ? 50 : Number(input.MaxResults);
      if (!Number.isInteger(max) || max < 50)
        throw fault(
          'ValidationException',
          "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 50",
        );
      const all = [...resourceTags(state, arn)].map(([Key, Value]) => ({ Key, Value }));
      const start =
        input.NextToken === undefined ? 0 : Number(Buffer.from(String(input.NextToken), 'base64url').toString());
      const page = all.slice(start, start + max);
      const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
      return { Tags: page, ...(next === undefined ? {} : { NextToken: next }) };
    }
    case 'DeleteModelPackageGroup': {
      const name = String(input.ModelPackageGroupName ?? '').replace(/^arn:.*\//, '');
      const group = [...state.groups.values()].find(
        (g) => g.ModelPackageGroupName.toLowerCase() === name.toLowerCase(),
      );
      if (group === undefined) throw fault('ValidationException', `ModelPackageGroup ${name} does not exist.`);
      if (state.packages.some((p) => p.ModelPackageGroupName === group.ModelPackageGroupName))
        throw fault('ConflictException', `Cannot delete model package group ${name}: it contains model packages.`);
      state.groups.delete(group.ModelPackageGroupName);
      tagsOf.get(state)?.delete(group.ModelPackageGroupArn);
      return {};
    }
    default:
      return undefined;
  }
}
