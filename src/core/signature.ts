/** Formats a shape for messages: `[batch, 784]`, with `?` for unnamed dynamic dimensions. */
export function formatShape(shape: ReadonlyArray<number | null> | null, names?: ReadonlyArray<string | null>): string {
  if (shape === null) return '[any]';
  return `[${shape.map((d, i) => (d === null ? (names?.[i] ?? '?') : String(d))).join(', ')}]`;
}
