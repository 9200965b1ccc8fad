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
 *
 * Two calls may be in flight, in two lanes with an arena each (call `seq` uses lane `seq & 1`): the worker
 * answers them in order, and picks up the second as soon as it has answered the first, without sleeping.
 * Waking the caller's event loop and its next call reaching the worker take a few hundred microseconds on
 * a VM (measured here: 0.2 ms and 0.13 ms), which the worker would otherwise spend idle between runs.
 */

/** Calls a channel holds at once: the one the worker runs and the one queued behind it. */
export const CHANNEL_LANES = 2;

/** Indexes into the control words. */
/** The last call sent (its sequence number). */
const REQ = 0;
/** The last call answered. */
const RESP = 1;
/** 1 when the caller wants the worker to poll for its next call (see `lightlyLoaded`). */
const SPIN_HINT = 2;
/** A word nobody writes, for timed sleeps with `Atomics.wait`. */
const SLEEP_WORD = 3;
/** Set to 1 to make the worker exit when it picks up its next call (test hook for crash handling). */
const CRASH_WORD = 4;
/** Per lane (add the lane): the call's op, whether its request came through the port, its answer's status. */
const OP = 5;
const VIA_PORT = OP + CHANNEL_LANES;
const STATUS = VIA_PORT + CHANNEL_LANES;
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

/** What travels on the port: a lane's bigger arena, a call's payload (string tensors, huge ones), its error. */
type PortMessage =
  | { readonly type: 'arena'; readonly lane: number; readonly arena: SharedArrayBuffer }
  | { readonly type: 'payload'; readonly seq: number; readonly payload: ChannelMessage }
  | { readonly type: 'error'; readonly seq: number; readonly error: ChannelError };

/** What both ends are started with (pass it in `workerData`, with `port` in the transfer list). */
export interface ChannelInit {
  readonly control: SharedArrayBuffer;
  /** One arena per lane. */
  readonly arenas: readonly SharedArrayBuffer[];
  readonly port: MessagePort;
}

/** A channel's shared memory: its control words and one arena per lane. */
export interface ChannelMemory {
  readonly control: SharedArrayBuffer;
  readonly arenas: SharedArrayBuffer[];
}

/**
 * Creates the shared memory for a channel; give `port2` to the worker. New memory is paid for in page faults on
 * first touch (about 10 µs per 4 KiB page on a VM, so 0.3 ms for two 64 KiB arenas), on the thread that serves
 * the other models: a channel whose worker is handed on reuses its memory ({@link reuseChannelMemory}).
 */
export function createChannelMemory(arenaBytes = 1 << 16): ChannelMemory {
  return {
    control: new SharedArrayBuffer(CONTROL_BYTES),
    arenas: Array.from({ length: CHANNEL_LANES }, () => new SharedArrayBuffer(arenaBytes)),
  };
}

/** Arenas bigger than this are not kept for reuse: a spare thread would hold them while no model needs them. */
const MAX_REUSED_ARENA_BYTES = 1 << 20;

/**
 * The memory of a closed channel, reset for the next one, or undefined when its arenas grew too big to keep.
 * Only for a channel whose worker has answered `OP_STOP` (it touches the memory no more). The control words
 * start again at zero, and so does each arena's stamp (its first word), so that no new call is taken for
 * complete before its request arrives: every other byte is read only after a call has written it.
 */
export function reuseChannelMemory(memory: ChannelMemory): ChannelMemory | undefined {
  if (memory.arenas.some((a) => a.byteLength > MAX_REUSED_ARENA_BYTES)) return undefined;
  const control = new Int32Array(memory.control);
  for (let i = 0; i < control.length; i++) Atomics.store(control, i, 0);
  for (const arena of memory.arenas) Atomics.store(new Int32Array(arena, 0, 1), 0, 0);
  return memory;
}

function grownSize(current: number, needed: number): number {
  let size = current;
  while (size < needed) size *= 2;
  return Math.min(size, MAX_ARENA_BYTES);
}

/** Tells whether `message` goes through lane `lane`'s arena and grows it when that is worth it. */
function placeInArena(
  current: SharedArrayBuffer,
  lane: number,
  message: ChannelMessage,
  port: MessagePort,
): { arena: SharedArrayBuffer; inArena: boolean } {
  if (!arenaEncodable(message.tensors)) return { arena: current, inArena: false };
  const needed = encodedSize(message.tensors, message.extra.length);
  if (needed <= current.byteLength) return { arena: current, inArena: true };
  if (needed > MAX_ARENA_BYTES) return { arena: current, inArena: false };
  const arena = new SharedArrayBuffer(grownSize(current.byteLength, needed));
  port.postMessage({ type: 'arena', lane, arena } satisfies PortMessage);
  return { arena, inArena: true };
}

/** Takes what has arrived on `port`: arenas into `arenas`, payloads and errors by call. */
function drainPort(
  port: MessagePort,
  arenas: SharedArrayBuffer[],
  payloads: Map<number, ChannelMessage>,
  errors?: Map<number, ChannelError>,
): void {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const msg = m.message as PortMessage;
    if (msg.type === 'arena') arenas[msg.lane] = msg.arena;
    else if (msg.type === 'payload') payloads.set(msg.seq, msg.payload);
    else errors?.set(msg.seq, msg.error);
  }
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
  override readonly name: string = 'ChannelClosedError';
}

/**
 * Thrown into a call that was queued behind another when the channel closed: the worker never started it,
 * so it can be sent again elsewhere without running twice.
 */
export class ChannelNotStartedError extends ChannelClosedError {
  override readonly name = 'ChannelNotStartedError';
}

/** The caller's end. Up to {@link CHANNEL_LANES} calls at a time, answered in the order they were made. */
export class ChannelClient {
  readonly #control: Int32Array;
  readonly #port: MessagePort;
  readonly #arenas: SharedArrayBuffer[];
  #seq = 0;
  /** Calls in flight, oldest first. */
  readonly #pending: { seq: number; resolve: (m: ChannelMessage) => void; reject: (e: unknown) => void }[] = [];
  /** True while an `Atomics.waitAsync` (or a retry) is pending for the oldest call. */
  #waiting = false;
  /** Set once closed: makes the error a call gets from then on (built only if a call comes). */
  #closed: (() => Error) | undefined;
  readonly #payloads = new Map<number, ChannelMessage>();
  readonly #errors = new Map<number, ChannelError>();

  constructor(init: ChannelInit) {
    this.#control = new Int32Array(init.control);
    this.#arenas = [...init.arenas];
    this.#port = init.port;
  }

  /** True while a call is outstanding. */
  get busy(): boolean {
    return this.#pending.length > 0;
  }

  /** Calls outstanding (at most {@link CHANNEL_LANES}). */
  get inFlight(): number {
    return this.#pending.length;
  }

  /**
   * Sends `message` with `op`; resolves with the worker's answer or rejects with its error. With `wait`, the
   * caller first polls for the answer on this thread for up to `wait.ms` before handing the wait to the event
   * loop (see `WorkerPoolSession` for when that pays), and asks the worker to poll for its next call. A second
   * call may be made while one is in flight; the worker runs it next.
   */
  call(op: number, message: ChannelMessage, wait?: CallerWait): Promise<ChannelMessage> {
    if (this.#closed) return Promise.reject(this.#closed());
    if (this.#pending.length >= CHANNEL_LANES)
      return Promise.reject(new Error(`ChannelClient.call: ${CHANNEL_LANES} calls are already in flight.`));
    const seq = ++this.#seq;
    const lane = seq % CHANNEL_LANES;
    const placed = placeInArena(this.#arenas[lane] as SharedArrayBuffer, lane, message, this.#port);
    this.#arenas[lane] = placed.arena;
    if (placed.inArena) writeTensors(placed.arena, message.tensors, message.extra, seq);
    else this.#port.postMessage({ type: 'payload', seq, payload: message } satisfies PortMessage);
    const control = this.#control;
    control[OP + lane] = op;
    control[VIA_PORT + lane] = placed.inArena ? 0 : 1;
    control[SPIN_HINT] = wait?.workerPolls ? 1 : 0;
    const promise = new Promise<ChannelMessage>((resolve, reject) => {
      this.#pending.push({ seq, resolve, reject });
    });
    Atomics.store(control, REQ, seq);
    Atomics.notify(control, REQ);
    if (this.#waiting) return promise; // the call ahead of this one is being waited for; this one follows
    if (wait && wait.ms > 0 && this.#pending.length === 1) {
      const started = performance.now();
      const answered = spinFor(control, RESP, seq - 1, wait.ms);
      recordSpin(performance.now() - started);
      if (answered) {
        this.#complete();
        return promise;
      }
    }
    this.#waitForAnswer();
    return promise;
  }

  /** Waits (on the event loop) until the worker answers past what has been settled. */
  #waitForAnswer(): void {
    const first = this.#pending[0];
    if (!first || this.#closed) return;
    this.#waiting = true;
    const pending = Atomics.waitAsync(this.#control, RESP, first.seq - 1);
    if (pending.async) void pending.value.then(() => this.#complete());
    else this.#complete();
  }

  /** Settles every call the worker has answered (in order), then waits for the rest. */
  #complete(): void {
    this.#waiting = false;
    if (this.#closed) return;
    // The answer is signalled through shared memory, but what travels on the port (a new arena, a payload, an
    // error) may arrive a moment later: take what has arrived, and settle a call only once it is complete.
    drainPort(this.#port, this.#arenas, this.#payloads, this.#errors);
    const answered = Atomics.load(this.#control, RESP);
    for (let next = this.#pending[0]; next && next.seq <= answered; next = this.#pending[0]) {
      const lane = next.seq % CHANNEL_LANES;
      const status = this.#control[STATUS + lane];
      const ready =
        status === STATUS_ERROR
          ? this.#errors.has(next.seq)
          : status === STATUS_PORT
            ? this.#payloads.has(next.seq)
            : readTag(this.#arenas[lane] as SharedArrayBuffer) === next.seq;
      if (!ready) {
        this.#waiting = true;
        setImmediate(() => this.#complete());
        return;
      }
      this.#pending.shift();
      if (status === STATUS_ERROR) {
        const error = this.#errors.get(next.seq);
        this.#errors.delete(next.seq);
        next.reject(error);
      } else if (status === STATUS_PORT) {
        const payload = this.#payloads.get(next.seq) as ChannelMessage;
        this.#payloads.delete(next.seq);
        next.resolve(payload);
      } else next.resolve(readTensors(this.#arenas[lane] as SharedArrayBuffer, true));
    }
    // Woken without an answer (close() or a spurious wake-up), or one call is still running: wait again.
    this.#waitForAnswer();
  }

  /**
   * Test hook: the worker exits (`process.exit(70)`, as a custom op might) when it picks up its next call,
   * after the call was accepted and before it runs. Safer than terminating a thread inside native code.
   */
  crashOnNextCall(): void {
    Atomics.store(this.#control, CRASH_WORD, 1);
  }

  /** The shared memory as it is now (an arena replaced by a bigger one is the bigger one). */
  memory(): ChannelMemory {
    return { control: this.#control.buffer as SharedArrayBuffer, arenas: [...this.#arenas] };
  }

  /**
   * Rejects the outstanding calls (if any) and refuses further calls. Used when the worker has died. The call
   * it was running gets `reason`; one queued behind it, which it never started, a {@link ChannelNotStartedError}.
   * `reason` may be a function that makes the error: an ordinary stop with nothing outstanding then builds none
   * (an error's stack trace costs the event loop tens of microseconds).
   */
  close(reason: Error | (() => Error)): void {
    let error: Error | undefined = typeof reason === 'function' ? undefined : reason;
    const make = (): Error => (error ??= (reason as () => Error)());
    this.#closed ??= make;
    const running = Atomics.load(this.#control, RESP) + 1;
    for (const pending of this.#pending.splice(0))
      pending.reject(pending.seq > running ? new ChannelNotStartedError(make().message) : make());
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
  /** Runs before `OP_STOP` is answered: whoever stopped the worker then knows it has finished (its session released). */
  onStop?: () => Promise<void>,
): Promise<void> {
  const control = new Int32Array(init.control);
  const port = init.port;
  const arenas = [...init.arenas];
  const payloads = new Map<number, ChannelMessage>();
  let seq = 0;
  // The handler's run has settled before the next request is read, so its inputs' memory can be reused.
  const requestMemory = new ReusedBuffers();
  for (;;) {
    // The next call may already be waiting in the other lane: then no sleep at all.
    awaitRequest(control, seq, control[SPIN_HINT] === 1 ? spinMs : 0);
    seq++;
    const lane = seq % CHANNEL_LANES;
    const op = control[OP + lane] as number;
    const viaPort = control[VIA_PORT + lane] === 1;
    // The request is signalled through shared memory, but a new arena or a payload sent on the port may arrive
    // a moment later: take messages until the request is complete (its arena stamped with this call's number).
    for (let tries = 0; ; tries++) {
      drainPort(port, arenas, payloads);
      if (op === OP_STOP || (viaPort ? payloads.has(seq) : readTag(arenas[lane] as SharedArrayBuffer) === seq)) break;
      if (tries > 200_000) throw new Error(`Channel: the request ${seq} never arrived complete.`);
      if (tries > 1000) Atomics.wait(control, SLEEP_WORD, 0, 0.05); // sleep 50 µs between later looks
    }
    const payload = payloads.get(seq);
    payloads.delete(seq);
    let status = STATUS_ARENA;
    if (op !== OP_STOP && Atomics.load(control, CRASH_WORD) === 1) process.exit(70);
    if (op !== OP_STOP) {
      try {
        // Copied out of shared memory (onnxruntime-node refuses tensors backed by a SharedArrayBuffer), into
        // memory reused from call to call.
        const request = viaPort && payload ? payload : readTensors(arenas[lane] as SharedArrayBuffer, requestMemory);
        const response = await handler(op, request);
        const placed = placeInArena(arenas[lane] as SharedArrayBuffer, lane, response, port);
        arenas[lane] = placed.arena;
        if (placed.inArena) {
          writeTensors(placed.arena, response.tensors, response.extra, seq);
        } else {
          port.postMessage({ type: 'payload', seq, payload: response } satisfies PortMessage);
          status = STATUS_PORT;
        }
      } catch (error) {
        port.postMessage({ type: 'error', seq, error: encodeError(error) } satisfies PortMessage);
        status = STATUS_ERROR;
      }
    } else {
      await onStop?.().catch(() => undefined);
      writeTensors(arenas[lane] as SharedArrayBuffer, [], [], seq);
    }
    Atomics.store(control, STATUS + lane, status);
    Atomics.store(control, RESP, seq);
    Atomics.notify(control, RESP);
    if (op === OP_STOP) return;
  }
}
