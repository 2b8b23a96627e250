// The demo's data: the SpamAssassin corpus as hashed bag-of-words features (the bench's featuriser), split into
// period 1 (train/eval, what v1 learns from) and period 2 (a labelled sample and a held-out rest, where spam has
// moved on). Identical inputs are kept once across all splits: a repeat in train and eval is contamination,
// which the pipeline's validation rightly blocks.
import { hashedFeatures, LABELS } from './features.ts';
import { Rng } from '../../engine/data/rng.ts';
import { spamAssassin, type SpamAssassinGroup } from './spam-assassin.ts';

export type DemoSize = {
  /** Hashed word buckets per message. */
  width: number;
  /** Rows per split at most (the full corpus when undefined). */
  maxRows?: number;
  /** Period-2 messages the candidate trains on; the rest of period 2 is held out for evaluation. */
  period2Sample: number;
};

export const FULL: DemoSize = { width: 512, period2Sample: 400 };
export const QUICK: DemoSize = { width: 256, maxRows: 800, period2Sample: 300 };

export type DemoData = {
  period1: { train: string; eval: string };
  period2: { sample: string; heldOut: string };
  counts: Record<string, number>;
};

/** Each message as a JSON line `{"features": [...], "label": "spam"}`, distinct inputs only. */
function jsonLines(groups: SpamAssassinGroup[], width: number, seen: Set<string>): string[] {
  const data = hashedFeatures(spamAssassin(groups), width);
  const lines: string[] = [];
  for (let r = 0; r < data.rows; r++) {
    // Four decimals: the file stays small and nothing a 512-bucket model can use is lost.
    const features = Array.from(data.features.subarray(r * width, (r + 1) * width), (x) => Number(x.toFixed(4)));
    const input = JSON.stringify(features);
    if (seen.has(input)) continue;
    seen.add(input);
    lines.push(`{"features":${input},"label":"${LABELS[data.labels[r]]}"}`);
  }
  return lines;
}

function shuffled(lines: string[], seed: number): string[] {
  return Array.from(Rng.fromSeed(seed).permutation(lines.length), (i) => lines[i]);
}

export function demoData(size: DemoSize, seed = 1): DemoData {
  const seen = new Set<string>();
  const p1 = shuffled(jsonLines(['easy-ham-1', 'spam-1'], size.width, seen), seed);
  const p2 = shuffled(jsonLines(['easy-ham-2', 'spam-2'], size.width, seen), seed + 1);
  const cap = (lines: string[]) => lines.slice(0, size.maxRows ?? lines.length);
  const p1Eval = Math.round(p1.length / 5);
  const splits = {
    period1Train: cap(p1.slice(p1Eval)),
    period1Eval: cap(p1.slice(0, p1Eval)),
    period2Sample: p2.slice(0, size.period2Sample),
    period2HeldOut: cap(p2.slice(size.period2Sample)),
  };
  const file = (lines: string[]) => lines.join('\n') + '\n';
  return {
    period1: { train: file(splits.period1Train), eval: file(splits.period1Eval) },
    period2: { sample: file(splits.period2Sample), heldOut: file(splits.period2HeldOut) },
    counts: Object.fromEntries(Object.entries(splits).map(([name, lines]) => [name, lines.length])),
  };
}
