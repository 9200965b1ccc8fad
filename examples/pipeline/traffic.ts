/** The serving half of `npm run demo:pipeline`: the test split sent through the HTTP server, a few requests at a time. */

/** What came back, per version that answered. */
export interface TrafficReport {
  readonly sent: number;
  readonly failed: number;
  readonly byVersion: Record<string, { requests: number; correct: number }>;
}

/**
 * POSTs each digit to `/models/{model}/predict` with its index as routing key (so a user keeps their side of the
 * split), `concurrency` requests in flight, and counts answers and correct labels per version.
 */
export async function sendTestSplit(
  baseUrl: string,
  model: string,
  digits: readonly { pixels: number[]; label: number }[],
  concurrency = 8,
): Promise<TrafficReport> {
  const byVersion: TrafficReport['byVersion'] = {};
  let failed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < digits.length) {
      const i = next++;
      const digit = digits[i] as { pixels: number[]; label: number };
      try {
        const res = await fetch(`${baseUrl}/models/${model}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-modelship-route-key': `digit-${i}` },
          body: JSON.stringify({ inputs: [digit.pixels] }),
        });
        const body = (await res.json()) as { version?: string; outputs?: { label?: number[] } };
        if (!res.ok || body.version === undefined) {
          failed++;
          continue;
        }
        const seen = (byVersion[body.version] ??= { requests: 0, correct: 0 });
        seen.requests++;
        if (body.outputs?.label?.[0] === digit.label) seen.correct++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { sent: digits.length, failed, byVersion };
}
