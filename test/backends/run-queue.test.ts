import { describe, expect, it } from 'vitest';
import { RunQueue } from '../../src/backends/onnx-web/run-queue.js';

/** A task that records when it starts and ends, and finishes when told to. */
function gate(log: string[], name: string): { task: () => Promise<string>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return {
    open,
    task: async () => {
      log.push(`start ${name}`);
      await opened;
      log.push(`end ${name}`);
      return name;
    },
  };
}

describe('RunQueue (one call at a time per onnxruntime-web session)', () => {
  it('runs tasks one after another, in call order, even when they are called together', async () => {
    const queue = new RunQueue();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const ra = queue.run(a.task);
    const rb = queue.run(b.task);
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(['start a']);
    b.open(); // b may not start before a ends, however early it is ready
    a.open();
    expect(await Promise.all([ra, rb])).toEqual(['a', 'b']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
  });

  it('keeps going after a task fails', async () => {
    const queue = new RunQueue();
    const failed = queue.run(async () => {
      throw new Error('boom');
    });
    await expect(failed).rejects.toThrow('boom');
    await expect(queue.run(async () => 1)).resolves.toBe(1);
    const thrown = queue.run((() => {
      throw new Error('sync');
    }) as () => Promise<never>);
    await expect(thrown).rejects.toThrow('sync');
    const log: string[] = [];
    const a = gate(log, 'a');
    const ra = queue.run(a.task);
    const rb = queue.run(async () => log.push('b'));
    await Promise.resolve();
    expect(log).toEqual(['start a']); // still queued after the throw: b waits for a
    a.open();
    await Promise.all([ra, rb]);
    expect(log).toEqual(['start a', 'end a', 'b']);
  });

  it('rejects a waiting caller at once when its signal aborts, and never starts its task', async () => {
    const queue = new RunQueue();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const c = gate(log, 'c');
    const controller = new AbortController();
    const ra = queue.run(a.task);
    const rb = queue.run(b.task, controller.signal);
    const rc = queue.run(c.task);
    controller.abort();
    await expect(rb).rejects.toMatchObject({ name: 'AbortError' });
    b.open();
    c.open();
    a.open();
    expect(await Promise.all([ra, rc])).toEqual(['a', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start c', 'end c']);
    await expect(queue.run(async () => 'late', AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
  });
});
