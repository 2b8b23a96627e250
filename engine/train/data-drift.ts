// How far new training data moved from a reference training set (production's), from their JSONL files: per-feature
// PSI or word-frequency divergence (engine/metrics/drift.ts) and a classifier two-sample test (./two-sample.ts).
// Labels are not read: this is about the inputs. Deterministic for a seed.
import { parseFeatureRowsJsonl } from '../data/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { featureDrift, tokenDrift, type FeatureDrift, type TokenDrift } from '../metrics/drift.ts';
import { parseTextsJsonl } from '../text/dataset.ts';
import { classifierTwoSampleTest, type TwoSampleOptions, type TwoSampleTest } from './two-sample.ts';

export type DataDrift = { rows: { reference: number; current: number }; two_sample: TwoSampleTest } & (
  { kind: 'features'; features: FeatureDrift } | { kind: 'text'; tokens: TokenDrift }
);

/** 'text' when the first record has a string `text`, else 'features' (the parser then names what is wrong). */
function kindOf(jsonl: string): 'text' | 'features' {
  const first = jsonl.split('\n', 64).find((line) => line.trim() !== '');
  try {
    return typeof (JSON.parse(first ?? '{}') as { text?: unknown } | null)?.text === 'string' ? 'text' : 'features';
  } catch {
    return 'features';
  }
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
    const [reference, current] = [
      parseTextsJsonl(referenceJsonl, { source: 'reference' }),
      parseTextsJsonl(currentJsonl, { source: 'current' }),
    ];
    return {
      kind,
      rows: { reference: reference.length, current: current.length },
      tokens: tokenDrift(reference, current),
      two_sample: await classifierTwoSampleTest({ kind, reference, current }, options),
    };
  }
  const reference = parseFeatureRowsJsonl(referenceJsonl, { source: 'reference' });
  const current = parseFeatureRowsJsonl(currentJsonl, { source: 'current' });
  if (reference.width !== current.width) {
    throw new InvalidInput(`the new training data has ${current.width} features, the reference ${reference.width}`);
  }
  return {
    kind,
    rows: { reference: reference.rows, current: current.rows },
    features: featureDrift(reference, current),
    two_sample: await classifierTwoSampleTest({ kind, reference, current }, options),
  };
}
