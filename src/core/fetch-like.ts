/**
 * A WHATWG `fetch` as modelship calls it: with a URL string and, usually, a `RequestInit`. The one type every
 * injectable `fetch` option uses (browser loads, remote registries, trackers); the global `fetch`, a proxying
 * wrapper or a test double all fit.
 *
 * @example
 * ```ts
 * const logged: FetchLike = (url, init) => (console.log(init?.method ?? 'GET', url), fetch(url, init));
 * ```
 */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;
