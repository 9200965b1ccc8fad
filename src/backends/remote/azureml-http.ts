import { ModelshipError } from '../../errors/index.js';

/**
 * The body of an answer as text, refusing more than `maxBytes` (announced by Content-Length, or counted while
 * reading) with UPSTREAM_ERROR: an endpoint answering without end must not exhaust the process's memory.
 */
export async function readLimited(res: Response, maxBytes: number, where: string): Promise<string> {
  const tooLarge = () =>
    new ModelshipError(
      'UPSTREAM_ERROR',
      `${where} answered more than ${maxBytes} bytes; raise maxResponseBytes if its predictions really are that large.`,
      { details: { maxBytes } },
    );
  const announced = Number(res.headers.get('content-length') ?? Number.NaN);
  if (announced > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/** `Retry-After` in ms (delta-seconds or an HTTP date), or undefined. */
export function retryAfterMs(res: Response): number | undefined {
  const value = res.headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Resolves after `ms`, or rejects with ABORTED when `signal` fires first. */
export function pause(ms: number, signal: AbortSignal | undefined, where: string): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ModelshipError('ABORTED', `The request to ${where} was cancelled.`));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The message of an Azure ML endpoint error body (`{"message"}`, `{"error": {"message"}}`, or text), bounded. */
export function errorMessage(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } | string } | null;
    const m =
      body?.message ?? (typeof body?.error === 'object' && body.error !== null ? body.error.message : body?.error);
    if (typeof m === 'string' && m !== '') return m.slice(0, 300);
  } catch {
    // A proxy's page or the scoring script's own text: the status says enough.
  }
  return `HTTP ${status}`;
}
