/**
 * `error` and its `cause` chain, at most `depth` levels (a network failure arrives as `TypeError: fetch failed`
 * → SocketError → the errno error; a disk-full one wrapped by the cache or the spool).
 */
export function* causeChain(error: unknown, depth = 5): Generator<{ readonly code?: unknown }> {
  for (
    let e: unknown = error, n = 0;
    typeof e === 'object' && e !== null && n < depth;
    e = (e as { cause?: unknown }).cause, n++
  ) {
    yield e as { readonly code?: unknown };
  }
}
