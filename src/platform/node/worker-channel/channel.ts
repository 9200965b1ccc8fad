import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { recordSpin } from './load-monitor.js';
import {
  arenaEncodable,
  encodedSize,
  readTag,
  readTensors,
  ReusedBuffers,
  writeTensors,
  type SlotTensor,
} from './tensor-codec.js';

/**
 * A request/response channel to one worker thread over shared memory.
 *
 * `postMessage` costs tens of microseconds per round trip, more than a small model's whole inference, so the
 * hot path avoids it: the caller writes tensors into a shared arena, bumps a sequence number and wakes the
 * worker with `Atomics.notify`; the worker (blocked in `Atomics.wait`) runs, writes the result into the same
 * arena and wakes the caller, who waits with `Atomics.waitAsync` so its event loop stays free. The message
 * port carries only the rare cases: a bigger arena, string tensors, errors.
 */

/** Indexes into the control words. */
const REQ = 0;
const RESP = 1;
const OP = 2;
const STATUS = 3;
const VIA_PORT = 4;
/** 1 when the caller wants the worker to poll for its next call (see `lightlyLoaded`). */
const SPIN_HINT = 5;
/** A word nobody writes, for timed sleeps with `Atomics.wait`. */
const SLEEP_WORD = 6;
/** Set to 1 to make the worker exit when it picks up its next call (test hook for crash handling). */
const CRASH_WORD = 7;
const CONTROL_BYTES = 64;

const STATUS_ARENA = 0;
const STATUS_PORT = 1;
const STATUS_ERROR = 2;

/** The op that ends the worker's loop. Other op numbers are the user's. */
export const OP_STOP = 0;

/** Largest arena allocated; bigger payloads go through the port. */
const MAX_ARENA_BYTES = 1 << 30;

/** Tensors plus small integers, one direction of a call. */
export interface ChannelMessage {
  readonly tensors: readonly SlotTensor[];
  readonly extra: readonly number[];
}

/** An error as it crosses the channel. */
export interface ChannelError {
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

type PortMessage =
  | { readonly type: 'arena'; readonly arena: SharedArrayBuffer }
  | { readonly type: 'payload'; readonly payload: ChannelMessage }
  | { readonly type: 'error'; readonly error: ChannelError };

/** What both ends are started with (pass it in `workerData`, with `port` in the transfer list). */
export interface ChannelInit {
  readonly control: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
  readonly port: MessagePort;
}

/** Creates the shared memory for a channel; give `port2` to the worker. */
export function createChannelMemory(arenaBytes = 1 << 16): { control: SharedArrayBuffer; arena: SharedArrayBuffer } {
  return { control: new SharedArrayBuffer(CONTROL_BYTES), arena: new SharedArrayBuffer(arenaBytes) };
}

function grownSize(current: number, needed: number): number {
  let size = current;
  while (size < needed) size *= 2;
  return Math.min(size, MAX_ARENA_BYTES);
}

/** Tells whether `message` goes through the arena and grows it when that is worth it. */
function placeInArena(
  current: SharedArrayBuffer,
  message: ChannelMessage,
  port: MessagePort,
): { arena: SharedArrayBuffer; inArena: boolean } {
  if (!arenaEncodable(message.tensors)) return { arena: current, inArena: false };
  const needed = encodedSize(message.tensors, message.extra.length);
  if (needed <= current.byteLength) return { arena: current, inArena: true };
  if (needed > MAX_ARENA_BYTES) return { arena: current, inArena: false };
  const arena = new SharedArrayBuffer(grownSize(current.byteLength, needed));
  port.postMessage({ type: 'arena', arena } satisfies PortMessage);
  return { arena, inArena: true };
}

/** Polling for one call (see `WorkerPoolSession` for when it pays). */
export interface CallerWait {
  /** How long the caller polls for the answer on its own thread before falling back to `Atomics.waitAsync`. */
  readonly ms: number;
  /** Whether the worker polls for the next call after answering this one. */
  readonly workerPolls: boolean;
}

/** Thrown into a pending call when the worker dies or the channel is closed. */
export class ChannelClosedError extends Error {
  override readonly name = 'ChannelClosedError';
}

/** The caller's end. One call at a time: the pool gives each worker one batch at a time. */
export class ChannelClient {
  readonly #control: Int32Array;
  readonly #port: MessagePort;
  #arena: SharedArrayBuffer;
  #seq = 0;
  #pending: { resolve: (m: ChannelMessage) => void; reject: (e: unknown) => void } | undefined;
  #closed: Error | undefined;
  #payload: ChannelMessage | undefined;
  #error: ChannelError | undefined;

  constructor(init: ChannelInit) {
    this.#control = new Int32Array(init.control);
    this.#arena = init.arena;
    this.#port = init.port;
  }

  /** True while a call is outstanding. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  /**
   * Sends `message` with `op`; resolves with the worker's answer or rejects with its error. With `wait`, the
   * caller first polls for the answer on this thread for up to `wait.ms` before handing the wait to the event
   * loop (see `WorkerPoolSession` for when that pays), and asks the worker to poll for its next call.
   */
  call(op: number, message: ChannelMessage, wait?: CallerWait): Promise<ChannelMessage> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#pending) return Promise.reject(new Error('ChannelClient.call: a call is already in flight.'));
    const seq = ++this.#seq;
    const placed = placeInArena(this.#arena, message, this.#port);
    this.#arena = placed.arena;
    if (placed.inArena) writeTensors(this.#arena, message.tensors, message.extra, seq);
    else this.#port.postMessage({ type: 'payload', payload: message } satisfies PortMessage);
    const control = this.#control;
    control[OP] = op;
    control[VIA_PORT] = placed.inArena ? 0 : 1;
    control[SPIN_HINT] = wait?.workerPolls ? 1 : 0;
    const promise = new Promise<ChannelMessage>((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
    Atomics.store(control, REQ, seq);
    Atomics.notify(control, REQ);
    if (wait && wait.ms > 0) {
      const started = performance.now();
      const answered = spinFor(control, RESP, seq - 1, wait.ms);
      recordSpin(performance.now() - started);
      if (answered) {
        this.#complete(seq);
        return promise;
      }
    }
    const pending = Atomics.waitAsync(control, RESP, seq - 1);
    if (pending.async) void pending.value.then(() => this.#complete(seq));
    else this.#complete(seq);
    return promise;
  }

  #complete(seq: number): void {
    const pending = this.#pending;
    if (!pending || this.#seq !== seq) return;
    if (Atomics.load(this.#control, RESP) !== seq) {
      // Woken without an answer: close() or a spurious wake-up. Wait again unless the channel is closed.
      if (this.#closed) return;
      const wait = Atomics.waitAsync(this.#control, RESP, seq - 1);
      if (wait.async) void wait.value.then(() => this.#complete(seq));
      else this.#complete(seq);
      return;
    }
    // The answer is signalled through shared memory, but what travels on the port (a new arena, a payload, an
    // error) may arrive a moment later: take what has arrived, and finish only once the answer is complete.
    for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port)) {
      const msg = m.message as PortMessage;
      if (msg.type === 'arena') this.#arena = msg.arena;
      else if (msg.type === 'payload') this.#payload = msg.payload;
      else this.#error = msg.error;
    }
    const status = this.#control[STATUS];
    const ready =
      status === STATUS_ERROR
        ? this.#error !== undefined
        : status === STATUS_PORT
          ? this.#payload !== undefined
          : readTag(this.#arena) === seq;
    if (!ready) {
      setImmediate(() => this.#complete(seq));
      return;
    }
    const payload = this.#payload;
    const error = this.#error;
    this.#payload = undefined;
    this.#error = undefined;
    this.#pending = undefined;
    if (status === STATUS_ERROR) pending.reject(error);
    else if (status === STATUS_PORT) pending.resolve(payload as ChannelMessage);
    else pending.resolve(readTensors(this.#arena, true));
  }

  /**
   * Test hook: the worker exits (`process.exit(70)`, as a custom op might) when it picks up its next call,
   * after the call was accepted and before it runs. Safer than terminating a thread inside native code.
   */
  crashOnNextCall(): void {
    Atomics.store(this.#control, CRASH_WORD, 1);
  }

  /** Rejects the outstanding call (if any) and refuses further calls. Used when the worker has died. */
  close(reason: Error): void {
    this.#closed ??= reason;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(reason);
    this.#port.close();
  }
}

/**
 * How long a worker polls for the next call before it sleeps in `Atomics.wait`, when the caller asked for it
 * with its last call (its event loop was idle). Why: docs/performance.md, "Polling only where it pays".
 */
export const DEFAULT_WORKER_SPIN_MS = 0.05;

/** Polls `control[index]` until it differs from `value` or `ms` pass; true if it changed. */
function spinFor(control: Int32Array, index: number, value: number, ms: number): boolean {
  const until = performance.now() + ms;
  do {
    for (let i = 0; i < 64; i++) if (Atomics.load(control, index) !== value) return true;
  } while (performance.now() < until);
  return false;
}

function awaitRequest(control: Int32Array, seq: number, spinMs: number): void {
  if (spinMs > 0 && spinFor(control, REQ, seq, spinMs)) return;
  // A wake-up is not a request: the caller's notify for a call this worker already saw by polling can land
  // after the worker has gone back to sleep. Only a new sequence number counts.
  while (Atomics.load(control, REQ) === seq) Atomics.wait(control, REQ, seq);
}

/**
 * Handles one call on the worker's side. The tensors it receives are copied out of the arena into memory the
 * next call reuses: they are valid until its answer is sent, and must not be kept beyond that.
 */
export type ChannelHandler = (op: number, message: ChannelMessage) => Promise<ChannelMessage>;

/** Turns whatever a handler threw into a {@link ChannelError}. */
export type ErrorEncoder = (error: unknown) => ChannelError;

/**
 * The worker's end: blocks in `Atomics.wait` for the next call, runs `handler`, answers, until `OP_STOP`.
 * Blocking is right here: the worker thread exists only to serve this channel.
 */
export async function serveChannel(
  init: ChannelInit,
  handler: ChannelHandler,
  encodeError: ErrorEncoder,
  spinMs = DEFAULT_WORKER_SPIN_MS,
): Promise<void> {
  const control = new Int32Array(init.control);
  const port = init.port;
  let arena = init.arena;
  let seq = 0;
  // The handler's run has settled before the next request is read, so its inputs' memory can be reused.
  const requestMemory = new ReusedBuffers();
  for (;;) {
    awaitRequest(control, seq, control[SPIN_HINT] === 1 ? spinMs : 0);
    seq = Atomics.load(control, REQ);
    const op = control[OP] as number;
    const viaPort = control[VIA_PORT] === 1;
    // The request is signalled through shared memory, but a new arena or a payload sent on the port may arrive
    // a moment later: take messages until the request is complete (its arena stamped with this call's number).
    let payload: ChannelMessage | undefined;
    for (let tries = 0; ; tries++) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const msg = m.message as PortMessage;
        if (msg.type === 'arena') arena = msg.arena;
        else if (msg.type === 'payload') payload = msg.payload;
      }
      if (op === OP_STOP || (viaPort ? payload !== undefined : readTag(arena) === seq)) break;
      if (tries > 200_000) throw new Error(`Channel: the request ${seq} never arrived complete.`);
      if (tries > 1000) Atomics.wait(control, SLEEP_WORD, 0, 0.05); // sleep 50 µs between later looks
    }
    let status = STATUS_ARENA;
    if (op !== OP_STOP && Atomics.load(control, CRASH_WORD) === 1) process.exit(70);
    if (op !== OP_STOP) {
      try {
        // Copied out of shared memory (onnxruntime-node refuses tensors backed by a SharedArrayBuffer), into
        // memory reused from call to call.
        const request = viaPort && payload ? payload : readTensors(arena, requestMemory);
        const response = await handler(op, request);
        const placed = placeInArena(arena, response, port);
        arena = placed.arena;
        if (placed.inArena) {
          writeTensors(arena, response.tensors, response.extra, seq);
        } else {
          port.postMessage({ type: 'payload', payload: response } satisfies PortMessage);
          status = STATUS_PORT;
        }
      } catch (error) {
        port.postMessage({ type: 'error', error: encodeError(error) } satisfies PortMessage);
        status = STATUS_ERROR;
      }
    } else {
      writeTensors(arena, [], [], seq);
    }
    Atomics.store(control, STATUS, status);
    Atomics.store(control, RESP, seq);
    Atomics.notify(control, RESP);
    if (op === OP_STOP) return;
  }
}
