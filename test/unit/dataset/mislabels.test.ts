// Label errors on data built to show them: labels flipped at known rows of a separable tabular task and of
// SpamAssassin emails must be found (precision and recall of the flagged rows), duplicates with conflicting labels
// exactly, and a clean dataset must give next to nothing.
import { describe, expect, it } from 'vitest';
import { blobs, flipLabels, spamSample } from '../../../bench/mislabels-data.ts';
import { flagScores } from '../../../engine/metrics/label-issues.ts';
import { MislabelSample } from '../../../governance/dataset/mislabels.ts';
import type { ValidationReport } from '../../../governance/dataset/validate.ts';
import { jsonl, validateFiles } from './files.ts';

const licensed = { manifest: { licence: 'CC-BY-4.0' } };
const find = (report: ValidationReport, code: string) => report.findings.find((f) => f.code === code);

/** The 0-based rows the report flags `likely_mislabel` (all of them: reportRows is raised to list every one). */
function flaggedRows(report: ValidationReport): number[] {
  return (find(report, 'likely_mislabel')?.rows ?? []).map((r) => r.line - 1);
}

const listAll = { mislabels: { reportRows: 10_000 } };

describe('likely mislabels (confident learning)', () => {
  it('finds labels flipped at 10 % of the rows of a separable tabular task, with the true label suggested', async () => {
    const clean = blobs(600, 11);
    const { records, flipped } = flipLabels(clean, 0.1, 12);
    const report = await validateFiles({ train: jsonl(records) }, { ...licensed, policy: listAll });
    const finding = find(report, 'likely_mislabel')!;
    expect(finding.severity).toBe('warning');
    const scores = flagScores(flaggedRows(report), flipped);
    expect(scores.precision).toBeGreaterThanOrEqual(0.9);
    expect(scores.recall).toBeGreaterThanOrEqual(0.7);
    // Where a flipped row is found, the suggestion is its original label.
    const truth = new Map(flipped.map((row) => [row, clean[row].label]));
    const found = finding.rows!.filter((r) => truth.has(r.line - 1));
    const right = found.filter((r) => r.suggested === truth.get(r.line - 1)).length;
    expect(right / found.length).toBeGreaterThanOrEqual(0.9);
    expect(finding.message).toMatch(/in 600 records, 5-fold/);
    expect(report.passed).toBe(true);
  });

  it('gives next to no findings on a clean dataset', async () => {
    const report = await validateFiles({ train: jsonl(blobs(600, 13)) }, licensed);
    expect(find(report, 'likely_mislabel')?.count ?? 0).toBeLessThanOrEqual(6); // ≤ 1 %
    expect(find(report, 'conflicting_duplicate')).toBeUndefined();
  });

  it('finds labels flipped at 10 % of SpamAssassin emails', async () => {
    const { records, flipped } = flipLabels(spamSample(1000, 21), 0.1, 22);
    const report = await validateFiles({ train: jsonl(records) }, { ...licensed, policy: listAll });
    const scores = flagScores(flaggedRows(report), flipped);
    expect(scores.precision).toBeGreaterThanOrEqual(0.7);
    expect(scores.recall).toBeGreaterThanOrEqual(0.7);
  });

  it('blocks, or lists the lines to drop, as the policy says; off checks nothing', async () => {
    const { records } = flipLabels(blobs(300, 31), 0.1, 32);
    const train = jsonl([...records, records[0], { ...records[1], label: records[1].label === 'c0' ? 'c1' : 'c0' }]);
    const block = await validateFiles({ train }, { ...licensed, policy: { mislabels: { action: 'block' } } });
    expect(find(block, 'likely_mislabel')?.severity).toBe('blocking');
    expect(find(block, 'conflicting_duplicate')).toMatchObject({ severity: 'blocking', count: 1, examples: [302] });
    expect(block.passed).toBe(false);
    expect(block.drop).toBeUndefined();

    const drop = await validateFiles({ train }, { ...licensed, policy: { mislabels: { action: 'drop' } } });
    expect(drop.passed).toBe(true);
    const flaggedLines = find(drop, 'likely_mislabel')!.rows!.map((r) => r.line);
    expect(drop.drop!.train).toContain(302);
    for (const line of flaggedLines) expect(drop.drop!.train).toContain(line);
    expect(drop.drop!.train).toEqual([...drop.drop!.train].sort((a, b) => a - b));
    expect(find(drop, 'likely_mislabel')!.message).toMatch(/dropped from training/);

    const off = await validateFiles({ train }, { ...licensed, policy: { mislabels: { action: 'off' } } });
    expect(off.findings.map((f) => f.code)).toEqual(['exact_duplicate']);
  });
});

describe('duplicates with conflicting labels', () => {
  it('names exactly the later copies whose label differs, exact or near, text or features', async () => {
    const text = (i: number) => `message number ${'abcdefghij'[i]} about the quarterly report and its figures`;
    const train = jsonl([
      { text: text(0), label: 'ham' },
      { text: text(1), label: 'spam' },
      { text: text(0), label: 'ham' }, // line 3: same label, a plain duplicate
      { text: text(0), label: 'spam' }, // line 4: exact, conflicting
      { text: `${text(1).toUpperCase()} 2024!`, label: 'ham' }, // line 5: near, conflicting
    ]);
    const report = await validateFiles({ train }, licensed);
    expect(find(report, 'conflicting_duplicate')).toMatchObject({
      count: 2,
      examples: [4, 5],
      rows: [
        { line: 4, label: 'spam', suggested: 'ham' },
        { line: 5, label: 'ham', suggested: 'spam' },
      ],
    });

    const features = jsonl([
      { features: [1, 2], label: 0 },
      { features: [3, 4], label: 1 },
      { features: [1, 2], label: 1 },
    ]);
    const tabular = await validateFiles({ train: features }, licensed);
    expect(find(tabular, 'conflicting_duplicate')).toMatchObject({
      count: 1,
      rows: [{ line: 3, label: '1', suggested: '0' }],
    });
  });
});

describe('the mislabel check’s sample', () => {
  const offerAll = (sample: MislabelSample, records: number) => {
    for (let line = 1; line <= records; line++) {
      sample.offer(line, 'text', 'a', { input: () => ({ kind: 'text', text: `${line}` }) });
    }
    return sample.records().map((r) => r.line);
  };

  it('keeps every record of a file no longer than it, in order', () => {
    expect(offerAll(new MislabelSample(10, 1), 7)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(offerAll(new MislabelSample(10, 1), 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('keeps each record of a longer file with the same chance, as many as it holds', () => {
    const [rows, records, seeds] = [10, 100, 4000];
    const kept = new Array<number>(records + 1).fill(0);
    for (let seed = 1; seed <= seeds; seed++) {
      const lines = offerAll(new MislabelSample(rows, seed), records);
      expect(lines).toHaveLength(rows);
      for (const line of lines) kept[line] += 1;
    }
    // Each line is kept binomially, p = rows / records: mean 400, standard deviation 19; 4.5 of them either side.
    const counts = kept.slice(1);
    expect(Math.min(...counts)).toBeGreaterThan(400 - 85);
    expect(Math.max(...counts)).toBeLessThan(400 + 85);
    // The late records as often as the early ones (a skip drawn wrongly shows as a trend).
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean(counts.slice(10, 50)) - mean(counts.slice(50)))).toBeLessThan(12);
  });
});
