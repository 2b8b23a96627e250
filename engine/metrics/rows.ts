// Metrics take model outputs as one flat row-major array (rows × classes), the layout of an ONNX `logits` output,
// and labels as class indices. These checks turn a shape mix-up or a diverged model into a clear error instead
// of a plausible-looking number.

/** Checks `values` holds finite numbers, `rows` × `classes` of them (any whole number of rows when omitted). */
export function checkScores(values: ArrayLike<number>, classes: number, what: string, rows?: number): void {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`${what}: classes must be a positive integer, got ${classes}`);
  }
  if (rows === undefined ? values.length % classes !== 0 : values.length !== rows * classes) {
    const expected = rows === undefined ? `whole rows of ${classes} classes` : `${rows} rows × ${classes} classes`;
    throw new RangeError(`${what}: ${values.length} values are not ${expected}`);
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`${what}: row ${Math.floor(i / classes)} holds ${values[i]}, not a finite number`);
    }
  }
}

export function checkLabels(labels: ArrayLike<number>, classes: number, what: string): void {
  if (labels.length === 0) throw new RangeError(`${what}: no rows to score`);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new RangeError(`${what}: label ${y} at row ${i} is not a class index in [0, ${classes})`);
    }
  }
}

/** The largest of the `classes` values starting at `base`. */
export function rowMax(values: ArrayLike<number>, base: number, classes: number): number {
  let max = -Infinity;
  for (let k = 0; k < classes; k++) max = Math.max(max, values[base + k]);
  return max;
}
