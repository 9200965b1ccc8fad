import type * as UndiciModule from 'undici';
import type { FetchLike } from '../../core/fetch-like.js';

type Undici = typeof UndiciModule;
type Dispatcher = UndiciModule.Dispatcher;
let undici: Promise<Undici> | undefined;

/**
 * undici is loaded on the first remote request, not when modelship is imported: it is about 5 MB of heap, and
 * an app that serves models from a local registry never needs it.
 */
function loadUndici(): Promise<Undici> {
  undici ??= import('undici');
  return undici;
}

/** One HTTP request, as the remote sources issue it. */
export interface TransportRequest {
  readonly url: string;
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';
  readonly headers: Readonly<Record<string, string>>;
  /** A `Blob` (e.g. `fs.openAsBlob`) is streamed, not read into memory first. */
  readonly body?: Uint8Array | string | Blob;
  readonly signal: AbortSignal;
}

/** A response whose body has not been read yet. Read `body` to the end or call `discard()`. */
export interface TransportResponse {
  readonly status: number;
  /** A response header (case-insensitive), or `undefined`. */
  header(name: string): string | undefined;
  readonly body: AsyncIterable<Uint8Array>;
  /** Releases the connection without reading the rest of the body. */
  discard(): Promise<void>;
}

/** Sends one request. Redirects are followed; credentials are not forwarded to another origin. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

let sharedDispatcher: Dispatcher | undefined;

/** The default undici dispatcher: keep-alive connections, up to 5 redirects. */
function defaultDispatcher({ Agent, interceptors }: Undici): Dispatcher {
  sharedDispatcher ??= new Agent({ connections: 16 }).compose(interceptors.redirect({ maxRedirections: 5 }));
  return sharedDispatcher;
}

/**
 * A transport on undici's `request` (streams the body without buffering it). Pass a `dispatcher` to use your own
 * connection pool, proxy (`ProxyAgent`) or a `MockAgent` in tests.
 */
export function undiciTransport(dispatcher?: Dispatcher): Transport {
  return async (req) => {
    const lib = await loadUndici();
    const res = await lib.request(req.url, {
      method: req.method,
      headers: req.headers,
      // undici streams a Blob body too (its request core accepts blob-likes); its types list only the others.
      body: req.body as Uint8Array | string | undefined,
      signal: req.signal,
      dispatcher: dispatcher ?? defaultDispatcher(lib),
      // Timeouts are enforced by the caller (an idle timer over the whole exchange), not per phase here.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    return {
      status: res.statusCode,
      header: (name) => {
        const value = res.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(', ') : value;
      },
      body: res.body,
      discard: async () => {
        await res.body.dump().catch(() => undefined);
      },
    };
  };
}

/** A transport on a WHATWG `fetch` (for an injected `fetch`: a wrapper adding auth, a test double, another runtime). */
export function fetchTransport(fetchFn: FetchLike): Transport {
  return async (req) => {
    const res = await fetchFn(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body as BodyInit | undefined,
      signal: req.signal,
      redirect: 'follow',
      // Node's fetch wants it for a streamed (Blob-backed) upload body.
      ...(req.body instanceof Blob ? { duplex: 'half' } : {}),
    } as RequestInit);
    const stream = res.body;
    return {
      status: res.status,
      header: (name) => res.headers.get(name) ?? undefined,
      body: stream === null ? emptyBody() : (stream as unknown as AsyncIterable<Uint8Array>),
      discard: async () => {
        await stream?.cancel().catch(() => undefined);
      },
    };
  };
}

/** The transport for an injected `fetch` if there is one, else undici (with `dispatcher`, if given). */
export function transportFor(options: {
  readonly fetch?: FetchLike | undefined;
  readonly dispatcher?: Dispatcher | undefined;
}): Transport {
  return options.fetch !== undefined ? fetchTransport(options.fetch) : undiciTransport(options.dispatcher);
}

async function* emptyBody(): AsyncIterable<Uint8Array> {
  // no bytes
}
