/**
 * The top-level fields of an ONNX file (ModelProto, onnx/onnx.proto3): IR version, producer, opsets, domain,
 * model version, doc string and metadata_props. Read with positional reads that step over the graph, so a
 * multi-gigabyte model costs a few small reads, not its size in memory.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** What `modelship inspect` shows of an ONNX file's header. */
export interface OnnxHeader {
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  /** Operator sets by domain (`""` is the default ONNX domain, shown as `ai.onnx`). */
  opsets: { domain: string; version: number }[];
  metadata: Record<string, string>;
}

const MAX_FIELD = 1 << 20;

function varint(buf: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw new Error('truncated varint');
}

/** Fields of a small embedded message (OperatorSetIdProto, StringStringEntryProto): field → string or number. */
function fields(buf: Uint8Array): Map<number, string | number> {
  const out = new Map<number, string | number>();
  const text = new TextDecoder();
  let at = 0;
  while (at < buf.length) {
    const [tag, p] = varint(buf, at);
    const [field, wire] = [Math.floor(tag / 8), tag % 8];
    if (wire === 0) {
      const [v, n] = varint(buf, p);
      out.set(field, v);
      at = n;
    } else if (wire === 2) {
      const [len, n] = varint(buf, p);
      out.set(field, text.decode(buf.subarray(n, n + len)));
      at = n + len;
    } else if (wire === 1) at = p + 8;
    else if (wire === 5) at = p + 4;
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  const { bytesRead } = await file.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** Reads the header of the ONNX file at `path`; throws when it is not a protobuf ModelProto. */
export async function readOnnxHeader(path: string): Promise<OnnxHeader> {
  const file = await open(path, 'r');
  const header: OnnxHeader = { opsets: [], metadata: {} };
  const text = new TextDecoder();
  try {
    const { size } = await file.stat();
    let at = 0;
    while (at < size) {
      const head = await readAt(file, at, 20);
      const [tag, p] = varint(head, 0);
      const [field, wire] = [Math.floor(tag / 8), tag % 8];
      if (wire === 0) {
        const [v, n] = varint(head, p);
        if (field === 1) header.irVersion = v;
        if (field === 5) header.modelVersion = v;
        at += n;
      } else if (wire === 2) {
        const [len, n] = varint(head, p);
        const start = at + n;
        at = start + len;
        if (at > size) throw new Error('field past the end of the file');
        if (![2, 3, 4, 6, 8, 14].includes(field) || len > MAX_FIELD) continue;
        const body = await readAt(file, start, len);
        if (field === 2) header.producerName = text.decode(body);
        else if (field === 3) header.producerVersion = text.decode(body);
        else if (field === 4) header.domain = text.decode(body);
        else if (field === 6) header.docString = text.decode(body);
        else if (field === 8) {
          const f = fields(body);
          header.opsets.push({ domain: String(f.get(1) ?? ''), version: Number(f.get(2) ?? 0) });
        } else {
          const f = fields(body);
          header.metadata[String(f.get(1) ?? '')] = String(f.get(2) ?? '');
        }
      } else if (wire === 1) at += p + 8;
      else if (wire === 5) at += p + 4;
      else throw new Error(`wire type ${wire} at byte ${at}`);
    }
  } finally {
    await file.close();
  }
  return header;
}
