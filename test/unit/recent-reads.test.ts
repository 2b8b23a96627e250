// The jobs service's kept reads (api/temporal/recent-reads.ts): how many reads reach Temporal, and how old a value
// a reader can get, on a clock the test moves.
import { describe, expect, it } from 'vitest';
import { RecentReads } from '../../api/temporal/recent-reads.ts';

function setup(maxAgeMs: number) {
  let now = 1_000;
  const reads = new RecentReads<string>(maxAgeMs, () => now);
  let count = 0;
  /** A read whose value says which read it was, settled when `settle` is called. */
  const pending: (() => void)[] = [];
  const read = () => {
    const value = `read ${++count}`;
    return new Promise<string>((resolve) => pending.push(() => resolve(value)));
  };
  const settleAll = () => pending.splice(0).forEach((settle) => settle());
  return { reads, read, settleAll, count: () => count, advance: (ms: number) => (now += ms) };
}

describe('RecentReads', () => {
  it('readers arriving while a read is in flight share it', async () => {
    const { reads, read, settleAll, count } = setup(500);
    const first = reads.get('job', read);
    const second = reads.get('job', read);
    settleAll();
    expect(await Promise.all([first, second])).toEqual(['read 1', 'read 1']);
    expect(count()).toBe(1);
  });

  it('serves a settled read until it is maxAgeMs old, then reads anew', async () => {
    const { reads, read, settleAll, advance } = setup(500);
    const first = reads.get('job', read);
    settleAll();
    await first;
    advance(500);
    expect(await reads.get('job', read)).toBe('read 1');
    advance(1);
    const next = reads.get('job', read);
    settleAll();
    expect(await next).toBe('read 2');
  });

  it('does not share a read in flight for longer than maxAgeMs: a slow read bounds no reader', async () => {
    const { reads, read, settleAll, advance, count } = setup(500);
    const slow = reads.get('job', read);
    advance(501);
    const later = reads.get('job', read);
    expect(count()).toBe(2);
    settleAll();
    expect([await slow, await later]).toEqual(['read 1', 'read 2']);
  });

  it('fresh reads anew and later readers share that read; invalidate forgets a key', async () => {
    const { reads, read, settleAll } = setup(500);
    const first = reads.get('job', read);
    const fresh = reads.get('job', read, { fresh: true });
    const after = reads.get('job', read);
    settleAll();
    expect([await first, await fresh, await after]).toEqual(['read 1', 'read 2', 'read 2']);
    reads.invalidate('job');
    const again = reads.get('job', read);
    settleAll();
    expect(await again).toBe('read 3');
  });

  it('keeps no failed read: the next reader reads again', async () => {
    const reads = new RecentReads<string>(500, () => 0);
    await expect(reads.get('job', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await reads.get('job', () => Promise.resolve('up'))).toBe('up');
  });

  it('drops expired reads as keys accumulate', async () => {
    const { reads, advance } = setup(500);
    for (let i = 0; i < 5_000; i++) {
      await reads.get(`job-${i}`, () => Promise.resolve('x'));
      advance(1);
    }
    // The keys read in the last 500 ms and those added since the last sweep, which runs past 1024.
    expect(reads.size).toBeLessThanOrEqual(1025);
    expect(reads.size).toBeGreaterThanOrEqual(501);
  });
});
