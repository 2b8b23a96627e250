// Paired comparison of two classifiers scored on the same rows: what aggregates hide. Two models with equal
// accuracy may disagree on many rows; churn counts them, split by which model was right.

/** How many row indices of each kind of change the report keeps as examples. */
export const CHURN_EXAMPLES = 5;

export interface Churn {
  rows: number;
  /** Rows whose predicted class differs between the two models (either may be right, or neither). */
  changed: number;
  changed_share: number;
  /** Rows the reference model got wrong and the other model gets right. */
  fixed: number;
  fixed_share: number;
  /** Rows the reference model got right and the other model gets wrong. */
  broken: number;
  broken_share: number;
  /** The first few row indices (0-based, in the eval file's order) of each kind. */
  examples: { fixed: number[]; broken: number[] };
}

/** Checks two models' predictions are class indices for the same `labels`. */
export function checkPaired(
  labels: ArrayLike<number>,
  candidate: ArrayLike<number>,
  reference: ArrayLike<number>,
  what: string,
): void {
  if (candidate.length !== labels.length || reference.length !== labels.length) {
    throw new RangeError(
      `${what}: ${candidate.length} and ${reference.length} predictions for ${labels.length} labels`,
    );
  }
  if (labels.length === 0) throw new RangeError(`${what}: no rows to compare`);
}

/** Churn of `candidate` against `reference` (production): rows changed, fixed and broken. */
export function churn(
  labels: ArrayLike<number>,
  candidate: ArrayLike<number>,
  reference: ArrayLike<number>,
  examples = CHURN_EXAMPLES,
): Churn {
  checkPaired(labels, candidate, reference, 'churn');
  const fixed: number[] = [];
  const broken: number[] = [];
  let changed = 0;
  for (let i = 0; i < labels.length; i++) {
    if (candidate[i] === reference[i]) continue;
    changed++;
    if (candidate[i] === labels[i]) fixed.push(i);
    else if (reference[i] === labels[i]) broken.push(i);
  }
  const rows = labels.length;
  return {
    rows,
    changed,
    changed_share: changed / rows,
    fixed: fixed.length,
    fixed_share: fixed.length / rows,
    broken: broken.length,
    broken_share: broken.length / rows,
    examples: { fixed: fixed.slice(0, examples), broken: broken.slice(0, examples) },
  };
}
