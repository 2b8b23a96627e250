// Perturbation suites: the eval inputs changed in ways a model in use will meet (typos, odd casing, stray
// punctuation, dropped words; noisy or missing measurements), seeded so the same seed gives the same inputs for
// every model scored on them. Accuracy on each perturbed copy, beside the clean accuracy, shows how fragile a model is.
import { Rng } from '../data/rng.ts';

/** The seed a suite uses unless told otherwise; each perturbation draws from its own stream of it. */
export const ROBUSTNESS_SEED = 0;

/** Rates of the text perturbations. */
export const TEXT_RATES = {
  /** Share of letters hit by a typo (deleted, doubled, replaced by a random letter, or swapped with the next). */
  typos: 0.05,
  /** Share of words recased (all upper, all lower or capitalised, equally often). */
  case: 0.3,
  /** Share of spaces doubled, and of words followed by a stray punctuation mark. */
  whitespace_punctuation: 0.1,
  /** Share of words dropped (a text keeps at least one word). */
  word_drop: 0.1,
} as const;

/** Scales of the Gaussian feature noise, as multiples of each feature's standard deviation over the eval rows. */
export const NOISE_SCALES = [0.1, 0.5] as const;

export type TextPerturbation = keyof typeof TEXT_RATES;

const LETTER = /\p{L}/u;
const PUNCTUATION = ['.', ',', '!', '?', ';', ':'];
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

/** A stream of its own for each perturbation, so adding one to a suite changes no other's inputs. */
const streamOf = (seed: number, index: number) => Rng.fromSeed((seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0);

const TEXT: Record<TextPerturbation, (text: string, rng: Rng) => string> = {
  typos(text, rng) {
    const chars = Array.from(text);
    const out: string[] = [];
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      if (!LETTER.test(c) || rng.nextFloat() >= TEXT_RATES.typos) {
        out.push(c);
        continue;
      }
      const kind = rng.nextInt(4);
      if (kind === 1) out.push(c, c);
      else if (kind === 2) out.push(ALPHABET[rng.nextInt(ALPHABET.length)]);
      else if (kind === 3 && i + 1 < chars.length) out.push(chars[++i], c);
      else if (kind === 3) out.push(c);
      // kind 0: the letter is deleted.
    }
    return out.join('');
  },
  case(text, rng) {
    return mapWords(text, (word) => {
      if (rng.nextFloat() >= TEXT_RATES.case) return word;
      const kind = rng.nextInt(3);
      if (kind === 0) return word.toUpperCase();
      if (kind === 1) return word.toLowerCase();
      return word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();
    });
  },
  whitespace_punctuation(text, rng) {
    const rate = TEXT_RATES.whitespace_punctuation;
    return text
      .split(/( +)/)
      .map((part) => {
        if (part.startsWith(' ')) return rng.nextFloat() < rate ? part + ' ' : part;
        if (part === '' || rng.nextFloat() >= rate) return part;
        return part + PUNCTUATION[rng.nextInt(PUNCTUATION.length)];
      })
      .join('');
  },
  word_drop(text, rng) {
    const words = text.split(/\s+/).filter(Boolean);
    const kept = words.filter(() => rng.nextFloat() >= TEXT_RATES.word_drop);
    return (kept.length ? kept : words.slice(0, 1)).join(' ');
  },
};

/** `text` with each whitespace-separated word replaced by `f(word)`, the whitespace kept. */
function mapWords(text: string, f: (word: string) => string): string {
  return text
    .split(/(\s+)/)
    .map((part) => (part === '' || /^\s+$/.test(part) ? part : f(part)))
    .join('');
}

/** The text suite: each perturbation's copy of `texts`, by name. Deterministic for a seed. */
export function perturbTexts(texts: readonly string[], seed = ROBUSTNESS_SEED): Record<TextPerturbation, string[]> {
  const names = Object.keys(TEXT) as TextPerturbation[];
  return Object.fromEntries(
    names.map((name, k) => {
      const rng = streamOf(seed, k);
      return [name, texts.map((t) => TEXT[name](t, rng))];
    }),
  ) as Record<TextPerturbation, string[]>;
}

/** Row-major feature rows. */
export type FeatureMatrix = { rows: number; width: number; features: Float32Array };

/**
 * The tabular suite, by name: `gaussian_noise_<s>sd` adds N(0, (s·σ_j)²) to each feature j, σ_j its standard
 * deviation over these rows, for each scale s of `NOISE_SCALES`; `feature_at_mean` sets one feature per row, chosen
 * uniformly, to its mean over these rows (the eval rows stand in for the training data, whose statistics the
 * evaluation does not have). Deterministic for a seed.
 */
export function perturbFeatures(data: FeatureMatrix, seed = ROBUSTNESS_SEED): Record<string, Float32Array> {
  const { rows, width, features } = data;
  const { mean, sd } = columnStats(data);
  const suite: Record<string, Float32Array> = {};
  NOISE_SCALES.forEach((scale, k) => {
    const rng = streamOf(seed, k);
    suite[`gaussian_noise_${scale}sd`] = features.map((x, i) => x + scale * sd[i % width] * normal(rng));
  });
  const rng = streamOf(seed, NOISE_SCALES.length);
  const atMean = features.slice();
  for (let r = 0; r < rows; r++) {
    const j = rng.nextInt(width);
    atMean[r * width + j] = mean[j];
  }
  suite.feature_at_mean = atMean;
  return suite;
}

/** Each column's mean and (population) standard deviation. */
function columnStats({ rows, width, features }: FeatureMatrix) {
  const mean = new Float64Array(width);
  const sd = new Float64Array(width);
  for (let i = 0; i < rows * width; i++) mean[i % width] += features[i] / rows;
  for (let i = 0; i < rows * width; i++) sd[i % width] += (features[i] - mean[i % width]) ** 2 / rows;
  return { mean, sd: sd.map(Math.sqrt) };
}

/** A standard normal draw (Box–Muller). */
function normal(rng: Rng): number {
  const u = 1 - rng.nextFloat(); // in (0, 1]: the logarithm stays finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}
