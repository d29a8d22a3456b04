import { describe, expect, it } from 'vitest';
import { SpawnBarrier } from '../harness/spawn-barrier.js';

const isOpen = async (barrier: SpawnBarrier<string>) => Promise.race([barrier.opened.then(() => true), new Promise((r) => setImmediate(() => r(false)))]);

describe('SpawnBarrier', () => {
  it('opens only once every party arrived, each counted once', async () => {
    const barrier = new SpawnBarrier(['node0', 'node1', 'tracer']);
    barrier.arrive('node0');
    barrier.arrive('node0');
    barrier.arrive('tracer');
    expect(await isOpen(barrier)).toBe(false);
    barrier.arrive('node1');
    expect(await isOpen(barrier)).toBe(true);
  });

  it('is open at once with no parties, and ignores strangers', async () => {
    expect(await isOpen(new SpawnBarrier([]))).toBe(true);
    const barrier = new SpawnBarrier(['node0']);
    barrier.arrive('someone else');
    expect(await isOpen(barrier)).toBe(false);
  });
});
