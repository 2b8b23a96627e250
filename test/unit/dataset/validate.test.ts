import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checks, type Finding, type FindingCode } from '../../../governance/dataset/findings.ts';
import { InvalidValidationInput } from '../../../governance/dataset/policy.ts';
import type { ValidationReport } from '../../../governance/dataset/validate.ts';
import { jsonl, pseudoRandomBytes, validateFiles } from './files.ts';

/** A text no other index gives, even after normalisation (which drops digits). */
function distinctText(i: number): string {
  const letters = [...i.toString(26)].map((c) => String.fromCharCode(97 + parseInt(c, 26))).join('');
  return `a message about ${letters} for the classifier`;
}

function balanced(n: number, labels = ['ham', 'spam'], offset = 0) {
  return Array.from({ length: n }, (_, i) => ({ text: distinctText(i + offset), label: labels[i % labels.length] }));
}

const licensed = { manifest: { licence: 'CC-BY-4.0' } };

function finding(report: ValidationReport, code: FindingCode, file = 'train'): Finding | undefined {
  return report.findings.find((f) => f.code === code && f.file === file);
}

function codes(report: ValidationReport): string[] {
  return report.findings.map((f) => `${f.file}:${f.code}`).sort();
}

describe('validateDataset on clean data', () => {
  it('passes a clean text dataset and reports its bytes, sha256, records and labels', async () => {
    const train = jsonl(balanced(40));
    const report = await validateFiles({ train }, licensed);
    expect(report.findings).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.files.train).toEqual({
      bytes: Buffer.byteLength(train),
      sha256: createHash('sha256').update(train).digest('hex'),
      records: 40,
      lines: 40,
      labels: { ham: 20, spam: 20 },
    });
  });

  it('passes a tabular dataset with an eval file of the same shape', async () => {
    const rows = (n: number, offset: number) =>
      Array.from({ length: n }, (_, i) => ({ features: [i + offset, (i + offset) / 7, 1], label: i % 3 }));
    const report = await validateFiles({ train: jsonl(rows(30, 0)), eval: jsonl(rows(9, 100)) }, licensed);
    expect(report.findings).toEqual([]);
    expect(report.files.eval?.labels).toEqual({ 0: 3, 1: 3, 2: 3 });
  });

  it('reports progress up to the total bytes of all files', async () => {
    const train = jsonl(balanced(20));
    const evalFile = jsonl(balanced(6, ['ham', 'spam'], 1000));
    const seen: number[] = [];
    await validateFiles({ train, eval: evalFile }, { ...licensed, onProgress: (n) => seen.push(n) });
    expect(seen.at(-1)).toBe(Buffer.byteLength(train) + Buffer.byteLength(evalFile));
  });
});

describe('validateDataset on broken records', () => {
  const brokenLines: [FindingCode, string][] = [
    ['parse_error', '{"text": "unterminated'],
    ['not_an_object', '["text", "ham"]'],
    ['missing_input', '{"label": "ham"}'],
    ['ambiguous_input', '{"text": "x", "features": [1], "label": "ham"}'],
    ['wrong_type', '{"text": 42, "label": "ham"}'],
    ['wrong_type', '{"features": [1, "2"], "label": "ham"}'],
    ['wrong_type', '{"text": "a real sentence here", "label": {"name": "ham"}}'],
    ['wrong_type', '{"text": "a sentence in a slice", "label": "ham", "slice": ["eu"]}'],
    ['wrong_type', '{"features": [1, 2], "label": "ham", "slice": ""}'],
    ['missing_label', '{"text": "a sentence without its label"}'],
    ['label_too_long', JSON.stringify({ text: 'a sentence with a huge label', label: 'x'.repeat(257) })],
    ['empty_input', '{"text": "   ", "label": "ham"}'],
    ['empty_line', '   '],
  ];

  it.each(brokenLines)('reports %s with its line number: %s', async (code, line) => {
    const good = balanced(10).map((r) => JSON.stringify(r));
    const train = [...good.slice(0, 4), line, ...good.slice(4)].join('\n') + '\n';
    const report = await validateFiles({ train }, licensed);
    expect(codes(report)).toEqual([`train:${code}`]);
    expect(finding(report, code)).toMatchObject({ count: 1, examples: [5], severity: checks[code].severity });
    expect(report.passed).toBe(checks[code].severity !== 'blocking');
    expect(report.files.train.records).toBe(10);
  });

  it('reports deeply nested JSON as a finding, without overflowing a stack', async () => {
    const depth = 30_000; // the nested record stays under the 1 MiB record limit
    const deepArray = '['.repeat(depth) + ']'.repeat(depth);
    const deepText = '{"label": "ham", "text": '.repeat(depth) + '"x"' + '}'.repeat(depth);
    const report = await validateFiles({ train: `${deepArray}\n${deepText}\n${jsonl(balanced(4))}` }, licensed);
    expect(codes(report)).toEqual(['train:not_an_object', 'train:wrong_type']);
    expect(report.files.train.records).toBe(4);
  });

  it('reports invalid UTF-8 on the line where it occurs', async () => {
    const head = Buffer.from(jsonl(balanced(4)));
    const bad = Buffer.concat([
      Buffer.from('{"text": "caf'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('", "label": "ham"}\n'),
    ]);
    const report = await validateFiles(
      { train: Buffer.concat([head, bad, Buffer.from(jsonl(balanced(4, undefined, 50)))]) },
      licensed,
    );
    expect(codes(report)).toEqual(['train:invalid_utf8']);
    expect(finding(report, 'invalid_utf8')?.examples).toEqual([5]);
    expect(report.passed).toBe(false);
  });

  it('reports a file of binary garbage as binary data, never a crash', async () => {
    const report = await validateFiles({ train: pseudoRandomBytes(256 * 1024) }, licensed);
    expect(report.passed).toBe(false);
    expect(finding(report, 'binary_data')?.count).toBeGreaterThan(0);
    expect(finding(report, 'empty_file')).toBeDefined();
    expect(report.files.train.records).toBe(0);
  });

  it('steps over a 10 MB single line as one oversized record and validates the rest', async () => {
    const huge = JSON.stringify({ text: 'spam '.repeat(2 * 1024 * 1024), label: 'spam' });
    const train = jsonl(balanced(6)) + huge + '\n' + jsonl(balanced(6, undefined, 100));
    const report = await validateFiles({ train }, licensed);
    expect(codes(report)).toEqual(['train:oversized_record']);
    expect(finding(report, 'oversized_record')).toMatchObject({ count: 1, examples: [7] });
    expect(report.files.train).toMatchObject({ records: 12, lines: 13 });
  });

  it('honours the record size limit of the policy', async () => {
    const train = jsonl(balanced(8));
    const report = await validateFiles({ train }, { ...licensed, policy: { maxRecordBytes: 40 } });
    expect(finding(report, 'oversized_record')?.count).toBe(8);
  });

  it('reports an empty file', async () => {
    const report = await validateFiles({ train: '' }, licensed);
    expect(codes(report)).toEqual(['train:empty_file']);
    expect(report.passed).toBe(false);
    expect(report.files.train).toMatchObject({ bytes: 0, records: 0, lines: 0 });
  });

  it('keeps at most maxExamples line numbers but counts every occurrence', async () => {
    const train = jsonl(balanced(4)) + 'oops\n'.repeat(9);
    const report = await validateFiles({ train }, { ...licensed, policy: { maxExamples: 3 } });
    expect(finding(report, 'parse_error')).toMatchObject({ count: 9, examples: [5, 6, 7] });
  });
});

describe('validateDataset on dataset shape', () => {
  it('reports records of the other input kind and features of another length', async () => {
    const train = jsonl([
      { features: [1, 2, 3], label: 'a' },
      { features: [4, 5, 6], label: 'b' },
      { features: [7, 8], label: 'a' },
      { text: 'a text among the features', label: 'b' },
    ]);
    const report = await validateFiles({ train }, licensed);
    expect(codes(report)).toEqual(['train:feature_length_mismatch', 'train:mixed_input_kinds']);
    expect(finding(report, 'feature_length_mismatch')?.examples).toEqual([3]);
    expect(finding(report, 'mixed_input_kinds')?.examples).toEqual([4]);
  });

  it('reports labels of mixed types', async () => {
    const train = jsonl([...balanced(4), { text: distinctText(99), label: 1 }]);
    const report = await validateFiles({ train }, licensed);
    expect(finding(report, 'mixed_label_types')).toMatchObject({ severity: 'blocking', examples: [5] });
  });

  it('reports a single class as too few classes', async () => {
    const report = await validateFiles({ train: jsonl(balanced(10, ['ham'])) }, licensed);
    expect(codes(report)).toEqual(['train:too_few_classes']);
    expect(finding(report, 'too_few_classes')?.message).toContain('1 found, at least 2 needed');
  });

  it('reports more distinct labels than the policy allows', async () => {
    const train = jsonl(balanced(10, ['a', 'b', 'c', 'd', 'e']));
    const report = await validateFiles({ train }, { ...licensed, policy: { maxClasses: 3, minClassShare: 0 } });
    expect(codes(report)).toEqual(['train:too_many_classes']);
    expect(report.files.train.labels).toEqual({ a: 2, b: 2, c: 2 });
  });

  it('names each class below the minimum share', async () => {
    const train = jsonl([...balanced(95, ['ham']), ...balanced(3, ['spam'], 1000), ...balanced(2, ['phish'], 2000)]);
    const report = await validateFiles({ train }, licensed);
    const imbalance = finding(report, 'class_imbalance');
    expect(imbalance).toMatchObject({ severity: 'warning', count: 2 });
    expect(imbalance?.message).toContain("'spam' 3 of 100 (3.0%)");
    expect(imbalance?.message).toContain("'phish' 2 of 100 (2.0%)");
    expect(report.passed).toBe(true);
  });
});

describe('validateDataset on duplicates and overlap', () => {
  it('reports exact duplicates and, separately, near duplicates', async () => {
    const records = balanced(10);
    const train = jsonl([
      ...records,
      records[2], // exact
      { text: `  ${records[3].text.toUpperCase()}!!! 2024 `, label: 'ham' }, // near, and records[3] is spam
      { text: 'ok', label: 'ham' },
      { text: 'OK!', label: 'spam' }, // too short to compare after normalisation
    ]);
    const report = await validateFiles({ train }, licensed);
    expect(codes(report)).toEqual(['train:conflicting_duplicate', 'train:exact_duplicate', 'train:near_duplicate']);
    expect(finding(report, 'conflicting_duplicate')).toMatchObject({
      count: 1,
      severity: 'warning',
      rows: [{ line: 12, label: 'ham', suggested: 'spam' }],
    });
    expect(finding(report, 'exact_duplicate')).toMatchObject({ count: 1, examples: [11], severity: 'warning' });
    expect(finding(report, 'near_duplicate')).toMatchObject({ count: 1, examples: [12] });
  });

  it('turns near-duplicate detection off when the policy says so', async () => {
    const records = balanced(10);
    const train = jsonl([...records, { text: records[3].text.toUpperCase(), label: 'ham' }]);
    const report = await validateFiles({ train }, { ...licensed, policy: { nearDuplicates: { enabled: false } } });
    expect(codes(report)).toEqual([]);
  });

  it('reports eval records that occur in the training file, and eval labels it lacks', async () => {
    const train = balanced(20);
    const evalRecords = [
      ...balanced(5, ['ham', 'spam'], 500),
      { text: train[7].text.toLowerCase(), label: 'spam' },
      { text: distinctText(900), label: 'phish' },
    ];
    const report = await validateFiles({ train: jsonl(train), eval: jsonl(evalRecords) }, licensed);
    expect(codes(report)).toEqual(['eval:contamination', 'eval:unknown_label']);
    expect(finding(report, 'contamination', 'eval')).toMatchObject({ examples: [6], severity: 'blocking' });
    expect(finding(report, 'unknown_label', 'eval')).toMatchObject({ examples: [7] });
    expect(report.passed).toBe(false);
  });

  it('accepts unlabelled OOD records but still reports overlap with training', async () => {
    const train = balanced(20);
    const ood = [{ text: 'completely different distribution of words' }, { text: train[0].text }];
    const report = await validateFiles({ train: jsonl(train), ood: jsonl(ood) }, licensed);
    expect(codes(report)).toEqual(['ood:contamination']);
    expect(report.files.ood).toMatchObject({ records: 2, labels: {} });
  });

  it('checks eval features against the training feature length', async () => {
    const train = jsonl([
      { features: [1, 2], label: 'a' },
      { features: [3, 4], label: 'b' },
    ]);
    const report = await validateFiles({ train, eval: jsonl([{ features: [1, 2, 3], label: 'a' }]) }, licensed);
    expect(codes(report)).toEqual(['eval:empty_file', 'eval:feature_length_mismatch']);
  });
});

describe('validateDataset on PII and licences', () => {
  const withPii = jsonl([
    ...balanced(6),
    { text: 'contact jane@example.org about the invoice', label: 'ham' },
    { text: 'call (555) 123-4567 to win a prize today', label: 'spam' },
    { text: 'pay with 4111 1111 1111 1111 right now', label: 'spam' },
  ]);

  it('reports emails, phone numbers and card numbers as warnings by default', async () => {
    const report = await validateFiles({ train: withPii }, licensed);
    expect(codes(report)).toEqual(['train:pii_card', 'train:pii_email', 'train:pii_phone']);
    expect(report.findings.map((f) => [f.code, f.severity, f.examples])).toEqual([
      ['pii_card', 'warning', [9]],
      ['pii_email', 'warning', [7]],
      ['pii_phone', 'warning', [8]],
    ]);
    expect(report.passed).toBe(true);
  });

  it('blocks on PII when the policy says so', async () => {
    const report = await validateFiles({ train: withPii }, { ...licensed, policy: { piiSeverity: 'blocking' } });
    expect(report.findings.every((f) => f.severity === 'blocking')).toBe(true);
    expect(report.passed).toBe(false);
  });

  const train = jsonl(balanced(10));
  it.each([
    [{ licence: 'mit' }, ['MIT', 'Apache-2.0'], []],
    [{ licence: 'GPL-3.0-only' }, ['MIT', 'Apache-2.0'], ['licence_not_allowed:blocking']],
    [{}, ['MIT'], ['licence_undeclared:blocking']],
    [undefined, undefined, ['licence_undeclared:warning']],
    [{ licence: 'GPL-3.0-only' }, undefined, []],
  ])('manifest %j against allow-list %j gives %j', async (manifest, allowedLicences, expected) => {
    const report = await validateFiles({ train }, { manifest, policy: { allowedLicences } });
    expect(report.findings.map((f) => `${f.code}:${f.severity}`)).toEqual(expected);
  });
});

describe('validateDataset on a bad policy or manifest', () => {
  it('throws an error naming the field', async () => {
    const train = jsonl(balanced(4));
    await expect(validateFiles({ train }, { policy: { maxRecordBytes: -1 } })).rejects.toThrow(InvalidValidationInput);
    await expect(validateFiles({ train }, { policy: { minClassShare: 2 } })).rejects.toThrow(/minClassShare/);
    await expect(validateFiles({ train }, { policy: { colour: 'red' } as never })).rejects.toThrow(/colour/);
    await expect(validateFiles({ train }, { manifest: { licence: 7 } as never })).rejects.toThrow(
      /dataset manifest[\s\S]*licence/,
    );
  });
});
