// Dense features for an MLP over SpamAssassin texts (infra/demo/spam-assassin.ts): a hashed bag of words, as the demo
// (infra/demo/data.ts) and the transfer bench (bench/transfer-story.ts) feed them.
import type { TabularDataset } from '../../engine/data/index.ts';
import { fnv1a } from '../../engine/text/ngrams.ts';
import type { TextRecord } from './spam-assassin.ts';
import { words } from '../../engine/text/words.ts';

export const LABELS = ['ham', 'spam'];

/**
 * Each text becomes `width` buckets of log(1 + count) over its words, scaled to unit length so long and short
 * mails weigh alike.
 */
export function hashedFeatures(records: readonly TextRecord[], width: number): TabularDataset {
  const features = new Float32Array(records.length * width);
  records.forEach((record, r) => {
    const row = features.subarray(r * width, (r + 1) * width);
    for (const word of words(record.text)) row[fnv1a(word) % width]++;
    let norm = 0;
    for (let j = 0; j < width; j++) {
      row[j] = Math.log1p(row[j]);
      norm += row[j] * row[j];
    }
    if (norm > 0) for (let j = 0; j < width; j++) row[j] /= Math.sqrt(norm);
  });
  const labels = Int32Array.from(records, (m) => LABELS.indexOf(m.label));
  return { rows: records.length, width, features, labels, labelNames: LABELS };
}
