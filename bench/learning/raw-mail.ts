// Splits of raw SpamAssassin mail (headers included, as a user's own export holds it) across the corpus's two
// periods, for the learning-quality benchmark's text rows:
//   p2-to-p1: train on 1,400 period-2 messages, test on 800 period-1 messages; p1-to-p2: the opposite direction.
// Each side is a seeded sample stratified by label (each class in proportion to its share of that period).
import { Rng } from '../../engine/data/index.ts';
import { spamAssassin, type TextRecord } from '../../infra/demo/spam-assassin.ts';

/** `n` records drawn without replacement, each label keeping its share of `records` (rounded). */
function stratifiedSample(records: TextRecord[], n: number, rng: Rng): TextRecord[] {
  const labels = [...new Set(records.map((r) => r.label))].sort();
  const picked: TextRecord[] = [];
  labels.forEach((label, i) => {
    const of = records.filter((r) => r.label === label);
    const take = i === labels.length - 1 ? n - picked.length : Math.round((n * of.length) / records.length);
    picked.push(...rng.shuffle(of).slice(0, take));
  });
  return rng.shuffle(picked);
}

export interface RawMailSplit {
  name: 'p2-to-p1' | 'p1-to-p2';
  train: TextRecord[];
  test: TextRecord[];
}

/** With `raw: false`, each message as `emailText` gives it (the Subject line and the body's start, no headers). */
export function rawMailSplits(seed: number, sizes = { train: 1400, test: 800 }, { raw = true } = {}): RawMailSplit[] {
  const period1 = spamAssassin(['easy-ham-1', 'spam-1'], { raw });
  const period2 = spamAssassin(['easy-ham-2', 'spam-2'], { raw });
  const rng = Rng.fromSeed(seed);
  return (
    [
      ['p2-to-p1', period2, period1],
      ['p1-to-p2', period1, period2],
    ] as const
  ).map(([name, from, to]) => ({
    name,
    train: stratifiedSample([...from], sizes.train, rng),
    test: stratifiedSample([...to], sizes.test, rng),
  }));
}
