import { z } from 'zod';
import { ModelshipError } from '../../errors/index.js';
import type { DeploymentState, VersionEntry } from '../deployment-state.js';

/** The document format tag; a document without it was not written by modelship. */
export const FLEET_FORMAT = 'modelship.fleet/v1';

const version = z.strictObject({ version: z.string().min(1).max(64), ref: z.string().min(1).max(512) });
const clockMs = z.number().finite();

/**
 * A deployment's routing state as the replicas of a fleet share it: versions named by a reference every replica
 * can load (`mnist/3`, `models:/mnist/3`), never by one process's keys.
 */
export const fleetDocumentSchema = z.strictObject({
  format: z.literal(FLEET_FORMAT),
  revision: z.number().int().nonnegative(),
  stable: version,
  canary: version.extend({ weight: z.number().min(0).max(1) }).optional(),
  progressive: z.strictObject({ step: z.number().int().nonnegative(), since: clockMs, halted: z.boolean() }).optional(),
  previous: version.extend({ closesAt: clockMs }).optional(),
  coolDownUntil: clockMs.optional(),
  lastChange: z
    .strictObject({
      kind: z.string().max(32),
      reason: z.enum(['manual', 'watch', 'guardrail', 'progressive', 'admin']),
      at: clockMs,
      /** The replica that wrote it. */
      by: z.string().max(128),
    })
    .optional(),
});

/** A fleet's shared deployment state. */
export type FleetDocument = z.infer<typeof fleetDocumentSchema>;
/** A version as the document names it. */
export type FleetVersion = z.infer<typeof version>;

/** Parses a stored document; FLEET_STATE_INVALID (naming the deployment, never the content) when it is not one. */
export function parseFleetDocument(text: string, deployment: string): FleetDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = fleetDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ModelshipError(
      'FLEET_STATE_INVALID',
      `The fleet state of deployment ${deployment} in the registry is not one modelship wrote (${FLEET_FORMAT}); the replicas keep serving what they have. Delete it (the next replica to start writes it again) or restore it.`,
    );
  }
  return parsed.data;
}

/** The document for `state`, naming each version by `pin(entry)`; `by` says which replica wrote it. */
export function toFleetDocument(
  state: DeploymentState,
  pin: (entry: VersionEntry) => string,
  by: string,
): FleetDocument {
  const named = (e: VersionEntry): FleetVersion => ({ version: e.version, ref: pin(e) });
  return {
    format: FLEET_FORMAT,
    revision: state.revision,
    stable: named(state.stable),
    ...(state.canary ? { canary: { ...named(state.canary), weight: state.canary.weight } } : {}),
    ...(state.progressive ? { progressive: { ...state.progressive } } : {}),
    ...(state.previous ? { previous: { ...named(state.previous), closesAt: state.previous.closesAt } } : {}),
    ...(state.coolDownUntil === undefined ? {} : { coolDownUntil: state.coolDownUntil }),
    ...(state.lastChange ? { lastChange: { ...state.lastChange, by } } : {}),
  };
}

/** The state a document describes, with each version named by the local key `keyOf` gives its reference. */
export function fromFleetDocument(doc: FleetDocument, keyOf: (v: FleetVersion) => VersionEntry): DeploymentState {
  return {
    revision: doc.revision,
    stable: keyOf(doc.stable),
    ...(doc.canary ? { canary: { ...keyOf(doc.canary), weight: doc.canary.weight } } : {}),
    ...(doc.progressive ? { progressive: { ...doc.progressive } } : {}),
    ...(doc.previous ? { previous: { ...keyOf(doc.previous), closesAt: doc.previous.closesAt } } : {}),
    ...(doc.coolDownUntil === undefined ? {} : { coolDownUntil: doc.coolDownUntil }),
    ...(doc.lastChange
      ? {
          lastChange: {
            kind: doc.lastChange.kind as NonNullable<DeploymentState['lastChange']>['kind'],
            reason: doc.lastChange.reason,
            at: doc.lastChange.at,
          },
        }
      : {}),
  };
}
