/** Canned failures for the protocol test servers. */

/** The next `times` requests whose path matches answer `status` (with `Retry-After: retryAfterSeconds`). */
export interface Fault {
  path: RegExp;
  status: number;
  times: number;
  retryAfterSeconds?: number;
  /** Handle the request normally, then cut the connection instead of answering (a lost response). */
  dropResponse?: boolean;
}

/** Consumes and returns the fault that applies to `path`, if any. */
export function takeFault(faults: Fault[], path: string): Fault | undefined {
  const fault = faults.find((f) => f.times > 0 && f.path.test(path));
  if (fault !== undefined) fault.times -= 1;
  return fault;
}
