// Confident learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels",
// JAIR 2021): rows whose given label is likely wrong, found from out-of-fold predicted probabilities. Pure functions
// over a rows × classes probability matrix (row-major) and the given labels; the model that made the probabilities
// is the caller's (engine/train/out-of-fold.ts).

export interface LabelIssue {
  /** Row index into the probabilities (0-based). */
  row: number;
  /** The given label's class index. */
  given: number;
  /** The class the confident joint puts the row in: the likely true label. */
  suggested: number;
  /** The predicted probability of `suggested`. */
  confidence: number;
  /** The predicted probability of the given label (low: more likely a label error). */
  selfConfidence: number;
}

/** Out-of-fold predictions: `probs` is rows × classes, row-major; `labels` the given class index of each row. */
export interface Predictions {
  probs: ArrayLike<number>;
  labels: ArrayLike<number>;
  classes: number;
}

function checkShape({ probs, labels, classes }: Predictions): void {
  if (!Number.isInteger(classes) || classes < 1)
    throw new RangeError(`classes must be a positive integer, got ${classes}`);
  if (probs.length !== labels.length * classes) {
    throw new RangeError(`${probs.length} probabilities for ${labels.length} rows of ${classes} classes`);
  }
  for (let r = 0; r < labels.length; r++) {
    const label = labels[r];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new RangeError(`row ${r}: label ${label} is outside 0..${classes - 1}`);
    }
  }
}

/**
 * Per-class thresholds t_j: the mean predicted probability of class j over the rows labelled j (the model's
 * expected self-confidence for that class). A class no row is labelled with gets +Infinity: nothing is put in it.
 */
export function perClassThresholds(predictions: Predictions): Float64Array {
  checkShape(predictions);
  const { probs, labels, classes } = predictions;
  const sums = new Float64Array(classes);
  const counts = new Float64Array(classes);
  for (let r = 0; r < labels.length; r++) {
    sums[labels[r]] += probs[r * classes + labels[r]];
    counts[labels[r]] += 1;
  }
  return sums.map((s, j) => (counts[j] > 0 ? s / counts[j] : Infinity));
}

/**
 * The class each row is confidently counted in: of the classes whose probability reaches their threshold, the one
 * with the largest probability; -1 when none does.
 */
export function confidentClasses(
  predictions: Predictions,
  thresholds: ArrayLike<number> = perClassThresholds(predictions),
): Int32Array {
  checkShape(predictions);
  const { probs, labels, classes } = predictions;
  const out = new Int32Array(labels.length).fill(-1);
  for (let r = 0; r < labels.length; r++) {
    let best = -1;
    for (let j = 0; j < classes; j++) {
      const p = probs[r * classes + j];
      if (p >= thresholds[j] && (best < 0 || p > probs[r * classes + best])) best = j;
    }
    out[r] = best;
  }
  return out;
}

/**
 * The confident joint C[i][j] (classes × classes, row-major): rows labelled i confidently counted in class j. Its
 * off-diagonal holds the label issues.
 */
export function confidentJoint(predictions: Predictions, thresholds?: ArrayLike<number>): Int32Array {
  const { labels, classes } = predictions;
  const counted = confidentClasses(predictions, thresholds);
  const joint = new Int32Array(classes * classes);
  for (let r = 0; r < labels.length; r++) if (counted[r] >= 0) joint[labels[r] * classes + counted[r]] += 1;
  return joint;
}

/**
 * The rows in the confident joint's off-diagonal: labelled i, confidently counted in some j ≠ i. Ranked most likely
 * error first, by self-confidence (the probability of the given label) ascending, ties by row.
 */
export function findLabelIssues(predictions: Predictions, thresholds?: ArrayLike<number>): LabelIssue[] {
  const { probs, labels, classes } = predictions;
  const counted = confidentClasses(predictions, thresholds);
  const issues: LabelIssue[] = [];
  for (let row = 0; row < labels.length; row++) {
    const given = labels[row];
    const suggested = counted[row];
    if (suggested < 0 || suggested === given) continue;
    issues.push({
      row,
      given,
      suggested,
      confidence: probs[row * classes + suggested],
      selfConfidence: probs[row * classes + given],
    });
  }
  return issues.sort((a, b) => a.selfConfidence - b.selfConfidence || a.row - b.row);
}

/** Precision and recall of flagged rows against the rows known to be wrong (for tests and benchmarks). */
export function flagScores(
  flagged: Iterable<number>,
  wrong: Iterable<number>,
): { precision: number; recall: number; flagged: number; wrong: number } {
  const truth = new Set(wrong);
  const found = new Set(flagged);
  let hits = 0;
  for (const row of found) if (truth.has(row)) hits += 1;
  return {
    precision: found.size > 0 ? hits / found.size : truth.size === 0 ? 1 : 0,
    recall: truth.size > 0 ? hits / truth.size : 1,
    flagged: found.size,
    wrong: truth.size,
  };
}
