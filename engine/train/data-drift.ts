// How far new training data moved from a reference training set (production's), from their JSONL files: per-feature
// PSI or word-frequency divergence (engine/metrics/drift.ts) over the whole files, and a classifier two-sample test
// (./two-sample.ts) between the reference and the new file's rows that the reference does not hold. Labels are not
// read: this is about the inputs. Deterministic for a seed.
import { parseFeatureRowsJsonl, type FeatureRows } from '../data/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { featureDrift, tokenDrift, type FeatureDrift, type TokenDrift } from '../metrics/drift.ts';
import { parseTextsJsonl } from '../text/dataset.ts';
import { classifierTwoSampleTest, type TwoSampleOptions, type TwoSampleTest } from './two-sample.ts';

export type DataDrift = {
  /** Rows of each file, and how many of the new file's rows are also in the reference (exactly). */
  rows: { reference: number; current: number; shared: number };
  /** Reference against the new rows only, or why it was not run (too few new rows). */
  two_sample: TwoSampleTest | { skipped: string };
} & ({ kind: 'features'; features: FeatureDrift } | { kind: 'text'; tokens: TokenDrift });

/** 'text' when the first record has a string `text`, else 'features' (the parser then names what is wrong). */
function kindOf(jsonl: string): 'text' | 'features' {
  const first = jsonl.split('\n', 64).find((line) => line.trim() !== '');
  try {
    return typeof (JSON.parse(first ?? '{}') as { text?: unknown } | null)?.text === 'string' ? 'text' : 'features';
  } catch {
    return 'features';
  }
}

/** Indices of the rows whose key is not among the reference's. */
function newRows(referenceKeys: string[], currentKeys: string[]): number[] {
  const seen = new Set(referenceKeys);
  return currentKeys.flatMap((key, i) => (seen.has(key) ? [] : [i]));
}

const rowKeys = ({ rows, width, features }: FeatureRows) =>
  Array.from({ length: rows }, (_, r) => features.subarray(r * width, (r + 1) * width).join(','));

/**
 * A retrain's data often holds production's rows and more. Rows in both files would sit in both classes of the
 * two-sample test, so a held-out copy is predicted as the other file's and the AUC falls below chance; the test
 * asks instead whether the rows the new file adds look like production's.
 */
async function twoSample(
  data: Parameters<typeof classifierTwoSampleTest>[0],
  added: number,
  options: TwoSampleOptions,
): Promise<DataDrift['two_sample']> {
  const folds = options.folds ?? 5;
  if (added < folds) return { skipped: `${added} of the new rows are not in production's training data` };
  return classifierTwoSampleTest(data, options);
}

export async function measureDataDrift(
  referenceJsonl: string,
  currentJsonl: string,
  options: TwoSampleOptions = {},
): Promise<DataDrift> {
  const kind = kindOf(referenceJsonl);
  if (kindOf(currentJsonl) !== kind) {
    throw new InvalidInput(
      `the new training data is not ${kind === 'text' ? 'text' : 'feature rows'} as the reference is`,
    );
  }
  if (kind === 'text') {
    const reference = parseTextsJsonl(referenceJsonl, { source: 'reference' });
    const current = parseTextsJsonl(currentJsonl, { source: 'current' });
    const added = newRows(reference, current).map((i) => current[i]);
    return {
      kind,
      rows: { reference: reference.length, current: current.length, shared: current.length - added.length },
      tokens: tokenDrift(reference, current),
      two_sample: await twoSample({ kind, reference, current: added }, added.length, options),
    };
  }
  const reference = parseFeatureRowsJsonl(referenceJsonl, { source: 'reference' });
  const current = parseFeatureRowsJsonl(currentJsonl, { source: 'current' });
  if (reference.width !== current.width) {
    throw new InvalidInput(`the new training data has ${current.width} features, the reference ${reference.width}`);
  }
  const kept = newRows(rowKeys(reference), rowKeys(current));
  const { width } = current;
  const added = { rows: kept.length, width, features: new Float32Array(kept.length * width) };
  kept.forEach((r, i) => added.features.set(current.features.subarray(r * width, (r + 1) * width), i * width));
  return {
    kind,
    rows: { reference: reference.rows, current: current.rows, shared: current.rows - kept.length },
    features: featureDrift(reference, current),
    two_sample: await twoSample({ kind, reference, current: added }, kept.length, options),
  };
}
