// A deterministic train / held-out split for when the user gives no separate evaluation file.
import { Rng } from './rng.ts';

export interface Split {
  /** Row indices, ascending. */
  train: Int32Array;
  /** Row indices, ascending. */
  heldOut: Int32Array;
}

/**
 * Holds out `fraction` of each class (rounded), chosen by a seeded shuffle, so both sides keep the class balance
 * and the same seed always picks the same rows.
 */
export function stratifiedSplit(labels: Int32Array, fraction: number, seed: number): Split {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`held-out fraction must be in (0, 1), got ${fraction}`);
  const rowsOfClass = new Map<number, number[]>();
  labels.forEach((label, row) => {
    const rows = rowsOfClass.get(label);
    if (rows) rows.push(row);
    else rowsOfClass.set(label, [row]);
  });

  const rng = Rng.fromSeed(seed);
  const train: number[] = [];
  const heldOut: number[] = [];
  for (const label of [...rowsOfClass.keys()].sort((a, b) => a - b)) {
    const rows = rng.shuffle(rowsOfClass.get(label)!);
    const held = Math.round(rows.length * fraction);
    heldOut.push(...rows.slice(0, held));
    train.push(...rows.slice(held));
  }
  if (train.length === 0 || heldOut.length === 0) {
    throw new RangeError(
      `holding out ${fraction} of ${labels.length} rows leaves ${train.length} to train on and ${heldOut.length} held out`,
    );
  }
  const ascending = (rows: number[]) => Int32Array.from(rows).sort();
  return { train: ascending(train), heldOut: ascending(heldOut) };
}
