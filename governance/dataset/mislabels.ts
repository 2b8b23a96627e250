import { Rng } from '../../engine/data/rng.ts';
import type { FlaggedRow } from './findings.ts';
import type { ValidationPolicy } from './policy.ts';
import type { RecordInput } from './record.ts';

// Likely label errors in the training file: a seeded sample of its records (reservoir sampling, so memory is bounded
// by policy.mislabels.maxRows however long the file) gets out-of-fold probabilities from a quick engine model, and
// confident learning (engine/metrics/label-issues.ts) flags the rows whose label the model confidently contradicts.
// The reservoir skips ahead (Li's algorithm L): a draw per record kept, not per record seen, which on millions of
// short records was a tenth of the scan.

/** Characters of a text the quick model reads: enough words to classify, and a bound on the sample's memory. */
export const SAMPLE_TEXT_CHARS = 4000;
/** Feature rows wider than this are not checked: the sample would take maxRows × width floats. */
export const MAX_CHECKED_FEATURES = 4096;

type Sampled = { line: number; input: RecordInput; label: string };

export class MislabelSample {
  private readonly rows: Sampled[] = [];
  private readonly rng: Rng;
  seen = 0;
  tooWide = false;
  /** Algorithm L's state once the reservoir is full: log of the largest kept key, and the next record kept. */
  private logW = 0;
  private next = 0;

  constructor(
    private readonly maxRows: number,
    seed: number,
  ) {
    this.rng = Rng.fromSeed(seed);
  }

  /** Offers a record of the given kind; its input is read only when the record is kept (or is features). */
  offer(line: number, kind: RecordInput['kind'], label: string, record: { input(): RecordInput }): void {
    const features = kind === 'features' ? record.input() : undefined;
    if (features?.kind === 'features' && features.features.length > MAX_CHECKED_FEATURES) {
      this.tooWide = true;
      return;
    }
    this.seen += 1;
    let slot = this.rows.length;
    if (slot >= this.maxRows) {
      if (this.seen < this.next) return;
      slot = this.rng.nextInt(this.maxRows);
      this.skip();
    } else if (slot + 1 === this.maxRows) {
      this.skip();
    }
    const input = features ?? record.input();
    this.rows[slot] = {
      line,
      input: input.kind === 'text' ? { kind: 'text', text: input.text.slice(0, SAMPLE_TEXT_CHARS) } : input,
      label,
    };
  }

  /** Draws the next record to keep: each later record is kept with probability maxRows / seen, as one draw each. */
  private skip(): void {
    this.logW += Math.log(this.uniform()) / this.maxRows;
    this.next = this.seen + Math.floor(Math.log(this.uniform()) / Math.log1p(-Math.exp(this.logW))) + 1;
  }

  /** A float uniform on (0, 1): logarithms need no zero. */
  private uniform(): number {
    return (this.rng.nextUint32() + 0.5) / 2 ** 32;
  }

  /** The sampled records in file order. */
  records(): Sampled[] {
    return [...this.rows].sort((a, b) => a.line - b.line);
  }
}

export type MislabelCheck =
  { checked: true; sampled: number; flagged: FlaggedRow[] } | { checked: false; reason: string };

/** Runs confident learning over the sample; `onProgress` is called as the quick models train (for heartbeats). */
export async function checkMislabels(
  sample: MislabelSample,
  policy: ValidationPolicy,
  onProgress?: () => void,
): Promise<MislabelCheck> {
  const { minRows, folds, seed } = policy.mislabels;
  if (sample.tooWide) return { checked: false, reason: `feature rows wider than ${MAX_CHECKED_FEATURES}` };
  const records = sample.records();
  if (records.length < minRows) return { checked: false, reason: `${records.length} records, fewer than ${minRows}` };
  const labelNames = [...new Set(records.map((r) => r.label))].sort();
  if (labelNames.length < 2) return { checked: false, reason: 'a single class' };
  const index = new Map(labelNames.map((name, i) => [name, i]));
  const labels = Int32Array.from(records, (r) => index.get(r.label)!);
  const perClass = new Int32Array(labelNames.length);
  for (const label of labels) perClass[label] += 1;
  const smallest = Math.min(...perClass);
  if (smallest < folds) {
    return { checked: false, reason: `a class has ${smallest} records, fewer than the ${folds} folds` };
  }

  // The engine is loaded only when a model is to be trained: validation with mislabels off never loads ORT.
  const [{ outOfFoldProbabilities }, { findLabelIssues }] = await Promise.all([
    import('../../engine/train/out-of-fold.ts'),
    import('../../engine/metrics/label-issues.ts'),
  ]);
  const first = records[0].input;
  const probs =
    first.kind === 'text'
      ? await outOfFoldProbabilities(
          { kind: 'text', data: { texts: records.map((r) => (r.input as { text: string }).text), labels, labelNames } },
          { folds, seed, onProgress },
        )
      : await outOfFoldProbabilities(
          {
            kind: 'features',
            data: {
              rows: records.length,
              width: first.features.length,
              features: Float32Array.from(records.flatMap((r) => (r.input as { features: number[] }).features)),
              labels,
              labelNames,
            },
          },
          { folds, seed, onProgress },
        );
  const flagged = findLabelIssues({ probs, labels, classes: labelNames.length }).map((issue) => ({
    line: records[issue.row].line,
    label: labelNames[issue.given],
    suggested: labelNames[issue.suggested],
    confidence: Math.round(issue.confidence * 1000) / 1000,
  }));
  return { checked: true, sampled: records.length, flagged };
}
