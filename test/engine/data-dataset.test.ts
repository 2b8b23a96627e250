import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batches,
  DatasetError,
  loadTabularJsonl,
  parseFeatureRowsJsonl,
  parseTabularJsonl,
  stratifiedSplit,
  takeRows,
} from '../../engine/data/index.ts';
import { irisJsonl } from '../helpers/iris.ts';

const jsonl = (...records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('parseTabularJsonl', () => {
  it('builds a row-major float32 matrix and class indices from a sorted label map', () => {
    const data = parseTabularJsonl(
      jsonl(
        { features: [1, 2.5], label: 'cat' },
        { features: [3, 4], label: 'ant' },
        { features: [-5, 0.1], label: 'cat' },
      ),
    );
    expect(data.rows).toBe(3);
    expect(data.width).toBe(2);
    expect(data.features).toEqual(Float32Array.from([1, 2.5, 3, 4, -5, 0.1]));
    expect(data.labelNames).toEqual(['ant', 'cat']);
    expect([...data.labels]).toEqual([1, 0, 1]);
  });

  it('orders numeric labels numerically, so class 10 comes after class 2', () => {
    const data = parseTabularJsonl(jsonl({ features: [0], label: 10 }, { features: [0], label: 2 }));
    expect(data.labelNames).toEqual(['2', '10']);
    expect([...data.labels]).toEqual([1, 0]);
  });

  it("uses a given label map (a base model's), and names the line of a label outside it", () => {
    const text = jsonl({ features: [0], label: 'b' }, { features: [1], label: 'a' });
    const data = parseTabularJsonl(text, { labelNames: ['c', 'b', 'a'] });
    expect(data.labelNames).toEqual(['c', 'b', 'a']);
    expect([...data.labels]).toEqual([1, 2]);
    expect(() => parseTabularJsonl(text, { labelNames: ['b'], source: 'eval.jsonl' })).toThrow(
      'eval.jsonl:2: label "a" is not in the label map ("b")',
    );
  });

  it('skips blank lines and CRLF endings but counts them in line numbers', () => {
    const text =
      '{"features":[1],"label":"x"}\r\n\r\n{"features":[2],"label":"y"}\r\n{"features":[3,4],"label":"y"}\r\n';
    const data = () => parseTabularJsonl(text, { source: 'f.jsonl' });
    expect(data).toThrow('f.jsonl:4: "features" has 2 values but earlier rows have 1');
    expect(parseTabularJsonl(text.split('\r\n').slice(0, 3).join('\r\n')).rows).toBe(2);
  });

  it.each([
    ['{"features": [1], "label": "a"', /:1: not valid JSON/],
    ['[1, 2]', /:1: expected an object/],
    ['{"label": "a"}', /:1: "features" must be a non-empty array of numbers, got missing/],
    ['{"features": [], "label": "a"}', /:1: "features" must be a non-empty array/],
    ['{"features": [1, "2"], "label": "a"}', /:1: "features"\[1\] must be a finite number, got "2"/],
    ['{"features": [1e39], "label": "a"}', /:1: "features"\[0\] = 1e\+39 overflows float32/],
    ['{"features": [1e999], "label": "a"}', /:1: "features"\[0\] must be a finite number/],
    ['{"features": [1]}', /:1: "label" must be a non-empty string or a number, got missing/],
    ['{"features": [1], "label": ""}', /:1: "label" must be a non-empty string/],
    ['{"features": [1], "label": null}', /:1: "label" must be .* got null/],
    ['\n\n', /:3: no records/],
  ])('rejects %s with a located DatasetError', (text, message) => {
    expect(() => parseTabularJsonl(text)).toThrow(DatasetError);
    expect(() => parseTabularJsonl(text)).toThrow(message);
  });

  it('keeps every value (as float32) and every label of arbitrary well-formed data (property)', () => {
    const rows = (width: number) =>
      fc.array(
        fc.record({
          features: fc.array(fc.double({ min: -1e30, max: 1e30, noNaN: true }), { minLength: width, maxLength: width }),
          label: fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 12 })),
        }),
        { minLength: 1, maxLength: 20 },
      );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }).chain(rows), (records) => {
        const data = parseTabularJsonl(jsonl(...records));
        // `+ 0` turns -0 into 0, as JSON.stringify does when it writes the file.
        expect(data.features).toEqual(Float32Array.from(records.flatMap((r) => r.features.map((v) => v + 0))));
        records.forEach((r, i) => expect(data.labelNames[data.labels[i]]).toBe(String(r.label)));
        expect(new Set(data.labelNames)).toEqual(new Set(records.map((r) => String(r.label))));
      }),
      { numRuns: 100 },
    );
  });

  it('rejects a label map with duplicates', () => {
    expect(() => parseTabularJsonl(jsonl({ features: [0], label: 'a' }), { labelNames: ['a', 'a'] })).toThrow(
      /duplicate labels/,
    );
  });

  it('loads Iris from its package and from a file, naming the file in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ratchet-data-'));
    try {
      const path = join(dir, 'iris.jsonl');
      await writeFile(path, irisJsonl());
      const iris = await loadTabularJsonl(path);
      expect(iris.rows).toBe(150);
      expect(iris.width).toBe(4);
      expect(iris.labelNames).toEqual(['setosa', 'versicolor', 'virginica']);
      expect([0, 1, 2].map((c) => iris.labels.filter((l) => l === c).length)).toEqual([50, 50, 50]);
      expect(iris.features.subarray(0, 4)).toEqual(Float32Array.from([5.1, 3.5, 1.4, 0.2]));

      await writeFile(path, irisJsonl() + '{"features":[1,2,3],"label":"setosa"}\n');
      await expect(loadTabularJsonl(path)).rejects.toThrow('iris.jsonl:151: "features" has 3 values');
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('parseFeatureRowsJsonl', () => {
  it('reads the features of records with or without labels, ignoring the labels', () => {
    const rows = parseFeatureRowsJsonl(
      jsonl({ features: [50, 60] }, { features: [-7, 0.5], label: 'anything' }, { features: [1, 2], label: null }),
    );
    expect(rows).toEqual({ rows: 3, width: 2, features: Float32Array.from([50, 60, -7, 0.5, 1, 2]) });
  });

  it('holds the records to the same shape checks, naming the source and line', () => {
    expect(() => parseFeatureRowsJsonl(jsonl({ features: [1, 2] }, { features: [1] }), { source: 'ood' })).toThrow(
      'ood:2: "features" has 1 values but earlier rows have 2',
    );
    expect(() => parseFeatureRowsJsonl(jsonl({ label: 'a' }), { source: 'ood' })).toThrow(
      /^ood:1: "features" must be a non-empty array/,
    );
    expect(() => parseFeatureRowsJsonl('\n', { source: 'ood' })).toThrow(DatasetError);
  });
});

describe('takeRows and batches', () => {
  const data = parseTabularJsonl(jsonl(...[0, 1, 2, 3, 4].map((i) => ({ features: [i, 10 * i], label: i % 2 }))));

  it('gathers the rows of a batch in the order given', () => {
    const { features, labels } = takeRows(data, Int32Array.from([3, 0]));
    expect(features).toEqual(Float32Array.from([3, 30, 0, 0]));
    expect([...labels]).toEqual([1, 0]);
    expect(() => takeRows(data, [5])).toThrow("row index 5 is outside the dataset's 5 rows");
  });

  it('slices indices into batches, keeping or dropping the short last one', () => {
    const order = Int32Array.from([4, 2, 0, 1, 3]);
    expect([...batches(order, 2)].map((b) => [...b])).toEqual([[4, 2], [0, 1], [3]]);
    expect([...batches(order, 2, { dropLast: true })].map((b) => [...b])).toEqual([
      [4, 2],
      [0, 1],
    ]);
    expect([...batches(order, 8)].map((b) => [...b])).toEqual([[4, 2, 0, 1, 3]]);
    expect(() => [...batches(order, 0)]).toThrow(/batch size must be a positive integer, got 0/);
  });
});

describe('stratifiedSplit', () => {
  const iris = parseTabularJsonl(irisJsonl());

  it('holds out the fraction of every class, disjoint from train, the same for the same seed', () => {
    const { train, heldOut } = stratifiedSplit(iris.labels, 0.2, 1);
    expect(heldOut.length).toBe(30);
    expect(train.length).toBe(120);
    expect([0, 1, 2].map((c) => heldOut.filter((r) => iris.labels[r] === c).length)).toEqual([10, 10, 10]);
    expect(new Set([...train, ...heldOut]).size).toBe(150);
    expect(stratifiedSplit(iris.labels, 0.2, 1)).toEqual({ train, heldOut });
    expect(stratifiedSplit(iris.labels, 0.2, 2).heldOut).not.toEqual(heldOut);
  });

  it('rejects fractions that leave a side empty', () => {
    expect(() => stratifiedSplit(iris.labels, 1, 1)).toThrow(/fraction must be in \(0, 1\), got 1/);
    expect(() => stratifiedSplit(Int32Array.from([0, 1]), 0.1, 1)).toThrow(/leaves 2 to train on and 0 held out/);
  });
});
