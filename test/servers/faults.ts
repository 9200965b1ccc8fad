/** Canned failures for the protocol test servers. */

/** The next `times` requests whose path matches answer `status` (with `Retry-After: retryAfterSeconds`). */
export interface Fault {
  path: RegExp;
  status: number;
  times: number;
  retryAfterSeconds?: number;
}

/** Consumes and returns the fault that applies to `path`, if any. */
export function takeFault(faults: Fault[], path: string): Fault | undefined {
  const fault = faults.find((f) => f.times > 0 && f.path.test(path));
  if (fault !== undefined) fault.times -= 1;
  return fault;
}
