import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DuplicateTables, type TableChecks } from '../../../governance/dataset/duplicate-tables.ts';
import type { Hash64 } from '../../../governance/dataset/hash64.ts';
import { SLOT_RECORDS, SLOTS } from '../../../governance/dataset/tables-ring.ts';
import { TablesThread } from '../../../governance/dataset/tables-thread.ts';
import { bundleTablesWorker, GENERATED } from '../../../governance/dataset/tables-worker.build.ts';
import { TABLES_THREAD_FROM_RECORDS, usesTablesThread, validateDataset } from '../../../governance/dataset/validate.ts';

// The duplicate tables on their own thread (a large dataset's) must find what they find on the main thread.

/** A seeded stream of records: repeats (exact and near), other labels, and a held-out file that shares some. */
function feed(tables: TableChecks, records: number) {
  let x = 7;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 12; // an LCG's low bits are not random
  // Each word alone holds part of n, so that a word read from the wrong place makes distinct hashes equal.
  const mix = (v: number) => Math.imul(v ^ (v >>> 7), 0x9e3779b1) >>> 0;
  const hashOf = (n: number): Hash64 => ({ hi: mix(n & 4095), lo: mix((n >>> 12) + 1) });
  const file = (held: boolean, count: number) => {
    tables.startFile(held);
    for (let line = 1; line <= count; line++) {
      const r = next();
      const content = r % 50 === 0 ? next() % 1000 : line + (held ? 10_000_000 : 0); // 2 % repeat an early record
      const exact = hashOf(content);
      const near = r % 7 === 0 ? undefined : hashOf(r % 30 === 0 ? 1 + (next() % 500) : content + 5_000_000);
      tables.check(line, exact, near, held ? undefined : next() % 3);
    }
    return tables.endFile();
  };
  const found = [file(false, records), file(true, records / 10), file(true, 100)];
  tables.release();
  return found;
}

describe('the duplicate tables on their own thread', () => {
  it('find what they find on the main thread, through every slot of the ring many times over and spills', () => {
    const records = 4 * SLOTS * SLOT_RECORDS + 123;
    const options = { storeLimit: 20_000, maxLabelId: 10, maxExamples: 7 };
    const inline = feed(new DuplicateTables(options), records);
    const threaded = feed(new TablesThread(options), records);
    expect(threaded).toEqual(inline);
    const counts = Object.fromEntries(inline[0].counts.map((c) => [c.code, c.count]));
    expect(counts.exact_duplicate).toBeGreaterThan(1000);
    expect(counts.near_duplicate).toBeGreaterThan(1000);
    expect(inline[0].conflicts.length).toBeGreaterThan(1000);
    expect(inline[1].counts.find((c) => c.code === 'contamination')!.count).toBeGreaterThan(100);
  });

  it('make validation fail with the thread’s error, not wait for it, when their spill cannot be written', async () => {
    const before = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/ratchet-tmp'; // the thread takes the environment it starts with
    try {
      const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ text: `record ${i}`, label: 'a' }));
      const source = (async function* () {
        yield new TextEncoder().encode(lines.join('\n'));
      })();
      const options = {
        storeLimit: 64,
        expectedBytes: 2 ** 40, // a terabyte of such lines would get the thread
        policy: { mislabels: { action: 'off' as const } },
      };
      await expect(validateDataset({ train: source }, options)).rejects.toThrow(
        /duplicate tables on disk, in \/nonexistent\/ratchet-tmp \(TMPDIR/,
      );
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
  });

  it('are for datasets of about a million records or more, as estimated from the size and the first chunk', () => {
    const lines = (count: number, width: number) =>
      new TextEncoder().encode(`${'x'.repeat(width - 1)}\n`.repeat(count));
    const chunk = lines(1000, 64); // 64 KB of 64-byte lines
    expect(usesTablesThread(64 * TABLES_THREAD_FROM_RECORDS, chunk)).toBe(true);
    expect(usesTablesThread(64 * TABLES_THREAD_FROM_RECORDS - 64, chunk)).toBe(false);
    expect(usesTablesThread(2 ** 30, lines(64, 1000))).toBe(true); // 1 GB of 1 KB lines
    expect(usesTablesThread(2 ** 30, lines(8, 8000))).toBe(false); // 1 GB of 8 KB lines
    expect(usesTablesThread(undefined, chunk)).toBe(false);
    expect(usesTablesThread(2 ** 40, undefined)).toBe(false);
    expect(usesTablesThread(2 ** 40, new TextEncoder().encode('x'.repeat(65536)))).toBe(false); // no line ends
  });

  it('run from a bundle that is up to date with its sources (else: npm run gen:tables-worker)', async () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(await bundleTablesWorker());
  });
});
