import { checkScores, rowMax } from './rows.ts';

/** Row-wise log-softmax in float64: each logit less the log of its row's sum of exponentials. */
export function logSoftmax(logits: ArrayLike<number>, classes: number): Float64Array {
  return byRow(logits, classes, 'logSoftmax', (out, base, max, sum) => {
    const logSum = max + Math.log(sum);
    for (let k = 0; k < classes; k++) out[base + k] = logits[base + k] - logSum;
  });
}

/**
 * Row-wise softmax: each row of logits becomes a probability distribution. Computed directly rather than as
 * exp(logSoftmax), which would lose digits to cancellation when logits are large.
 */
export function softmax(logits: ArrayLike<number>, classes: number): Float64Array {
  return byRow(logits, classes, 'softmax', (out, base, _max, sum) => {
    for (let k = 0; k < classes; k++) out[base + k] /= sum;
  });
}

/**
 * What both softmaxes start from: for each row, exp(logit - row max) in `out`, shifted by the max so that large
 * logits do not overflow; `finish` then makes the row's result from its max and the sum of those exponentials.
 */
function byRow(
  logits: ArrayLike<number>,
  classes: number,
  what: string,
  finish: (out: Float64Array, base: number, max: number, sum: number) => void,
): Float64Array {
  checkScores(logits, classes, what);
  const out = new Float64Array(logits.length);
  for (let base = 0; base < logits.length; base += classes) {
    const max = rowMax(logits, base, classes);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += out[base + k] = Math.exp(logits[base + k] - max);
    finish(out, base, max, sum);
  }
  return out;
}

/** The index of each row's largest value; ties go to the lowest index, as numpy's argmax does. */
export function argmaxRows(values: ArrayLike<number>, classes: number): Int32Array {
  checkScores(values, classes, 'argmax');
  const rows = values.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (values[r * classes + k] > values[r * classes + best]) best = k;
    out[r] = best;
  }
  return out;
}
