// Every check the validator makes, with its severity and the reason for that severity, in one table:
// docs/VALIDATION.md is written from it and the tests assert against it.

export type Severity = 'blocking' | 'warning';
export type DatasetFile = 'train' | 'eval' | 'ood';

/** Class names, not documents: this also bounds the memory the label counts can take. */
export const MAX_LABEL_LENGTH = 256;

export type Finding = {
  code: FindingCode;
  severity: Severity;
  file?: DatasetFile;
  message: string;
  count: number;
  /** A few 1-based line numbers where the finding occurs (empty for whole-file findings). */
  examples: number[];
  /** Mislabel findings: the first rows flagged (most likely first), each with its label and the suggested one. */
  rows?: FlaggedRow[];
};

export type FlaggedRow = {
  /** 1-based line number in the file. */
  line: number;
  label: string;
  suggested: string;
  /** `likely_mislabel`: the quick model's out-of-fold probability of the suggested label. */
  confidence?: number;
};

type Check = { severity: Severity | 'policy'; message: string };
const blocking = (message: string): Check => ({ severity: 'blocking', message });
const warning = (message: string): Check => ({ severity: 'warning', message });
/** The job's policy sets the severity (see each entry's comment). */
const byPolicy = (message: string): Check => ({ severity: 'policy', message });

export const checks = {
  // Records the trainer could not read at all: blocking.
  empty_file: blocking('the file holds no records'),
  binary_data: blocking('line holds control bytes: binary data, not JSON text'),
  invalid_utf8: blocking('line is not valid UTF-8'),
  parse_error: blocking('line is not valid JSON'),
  oversized_record: blocking('line is longer than the record size limit'),
  not_an_object: blocking('line is JSON but not an object'),
  missing_input: blocking('record has neither "text" nor "features"'),
  ambiguous_input: blocking('record has both "text" and "features"'),
  wrong_type: blocking(
    '"text" must be a string, "features" an array of numbers, "label" a string or a number, "slice" (optional) a non-empty string or a number',
  ),
  missing_label: blocking('record has no "label"'),
  label_too_long: blocking(`"label" is longer than ${MAX_LABEL_LENGTH} characters: a class name, not a text`),
  // An empty input gives the trainer a zero-length tensor (no tokens, no features): blocking.
  empty_input: blocking('record has an empty "text" or "features"'),
  mixed_input_kinds: blocking('some records have "text" and others "features"'),
  feature_length_mismatch: blocking('"features" length differs from the first features record'),
  mixed_label_types: blocking('some labels are strings and others numbers'),
  // A classifier needs at least two classes, and an unbounded label set is not a classification dataset.
  too_few_classes: blocking('fewer distinct labels than a classifier needs'),
  too_many_classes: blocking('more distinct labels than the policy allows'),
  // Evaluation on labels the model never saw, or on records it trained on, gives meaningless figures.
  unknown_label: blocking('label does not occur in the training file'),
  contamination: blocking('record also occurs in the training file (normalised text)'),
  licence_not_allowed: blocking("declared licence is not on the policy's allow-list"),
  // Undeclared licence: blocking when the policy has an allow-list to check it against, a warning otherwise.
  licence_undeclared: byPolicy('the manifest declares no licence'),
  // Data the trainer can use but a person should look at: warnings.
  empty_line: warning('blank line (skipped)'),
  exact_duplicate: warning('record input repeats an earlier record exactly'),
  near_duplicate: warning(
    'record text repeats an earlier record after normalisation (case, whitespace, punctuation, digits)',
  ),
  class_imbalance: warning('a class is below the minimum share of records'),
  // Label errors: a warning, blocking, or dropped from the training file (a warning then), as policy.mislabels says.
  likely_mislabel: byPolicy(
    'label is likely wrong: a model trained without this record confidently predicts another class (confident learning)',
  ),
  conflicting_duplicate: byPolicy(
    'record repeats an earlier record (exactly or after normalisation) with a different label',
  ),
  mislabels_not_checked: warning('labels were not checked for errors'),
  // PII: a warning unless the policy blocks it (policy.piiSeverity).
  pii_email: byPolicy('record contains an email address'),
  pii_phone: byPolicy('record contains a phone number'),
  pii_card: byPolicy('record contains a card number (Luhn-valid)'),
} satisfies Record<string, Check>;

export type FindingCode = keyof typeof checks;

const FILE_ORDER: Record<DatasetFile, number> = { train: 0, eval: 1, ood: 2 };

/** Counts occurrences of each (file, code) and keeps the first few line numbers, in constant memory. */
export class FindingTally {
  private readonly entries = new Map<string, Finding>();

  constructor(
    private readonly severityOf: (code: FindingCode) => Severity,
    private readonly maxExamples: number,
  ) {}

  /** One more occurrence of `code`, at `line`. */
  add(file: DatasetFile, code: FindingCode, line: number): void {
    const finding = this.entry(file, code);
    finding.count += 1;
    if (finding.examples.length < this.maxExamples) finding.examples.push(line);
  }

  /** `count` occurrences of `code`, the first at `examples` (ascending), counted elsewhere (duplicate-tables.ts). */
  addCounted(file: DatasetFile, code: FindingCode, count: number, examples: readonly number[]): void {
    const finding = this.entry(file, code);
    finding.count += count;
    for (const line of examples.slice(0, this.maxExamples - finding.examples.length)) finding.examples.push(line);
  }

  /** One occurrence of `code` at a row whose label is likely wrong, listed with its suggestion up to `maxRows`. */
  addRow(file: DatasetFile, code: FindingCode, row: FlaggedRow, maxRows: number): void {
    this.add(file, code, row.line);
    const finding = this.entry(file, code);
    finding.rows ??= [];
    if (finding.rows.length < maxRows) finding.rows.push(row);
  }

  /** Replaces a finding's message with the check's message and `detail`. */
  describe(file: DatasetFile, code: FindingCode, detail: string): void {
    this.entry(file, code).message = `${checks[code].message}: ${detail}`;
  }

  /** A whole-file finding, with what was found appended to the check's message. */
  addSummary(file: DatasetFile, code: FindingCode, count: number, detail?: string): void {
    const finding = this.entry(file, code);
    finding.count += count;
    if (detail) finding.message = `${checks[code].message}: ${detail}`;
  }

  private entry(file: DatasetFile, code: FindingCode): Finding {
    const key = `${file}:${code}`;
    let finding = this.entries.get(key);
    if (!finding) {
      finding = { code, severity: this.severityOf(code), file, message: checks[code].message, count: 0, examples: [] };
      this.entries.set(key, finding);
    }
    return finding;
  }

  /** Blocking findings first, then by file and code, so a report reads the same on every run. */
  list(): Finding[] {
    const rank = (f: Finding) => (f.severity === 'blocking' ? 0 : 1);
    const fileOrder = (f: Finding) => (f.file ? FILE_ORDER[f.file] : -1);
    return [...this.entries.values()].sort(
      (a, b) => rank(a) - rank(b) || fileOrder(a) - fileOrder(b) || a.code.localeCompare(b.code),
    );
  }
}
