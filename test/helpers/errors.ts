import { expect } from 'vitest';
import { ModelshipError } from '../../src/errors/index.js';

/** Awaits a promise that must reject with a ModelshipError, and returns the error. */
export async function rejection(p: Promise<unknown>): Promise<ModelshipError> {
  try {
    await p;
  } catch (e) {
    expect(ModelshipError.isInstance(e), String(e)).toBe(true);
    return e as ModelshipError;
  }
  throw new Error('expected a rejection');
}
