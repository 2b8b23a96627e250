import { Rng } from '../../engine/data/index.ts';

/**
 * `{"text"}` JSONL of random letters and digits, nothing like the emails the text tests train on: out-of-distribution
 * text. Every fourth record carries a label, which an OOD file may have and which is ignored.
 */
export function gibberishJsonl(records: number, seed: number): string {
  const rng = Rng.fromSeed(seed);
  const chars = 'qxzjvkw0123456789';
  const word = () => Array.from({ length: 3 + rng.nextInt(6) }, () => chars[rng.nextInt(chars.length)]).join('');
  const lines = Array.from({ length: records }, (_, i) => {
    const text = Array.from({ length: 40 }, word).join(' ');
    return JSON.stringify(i % 4 === 0 ? { text, label: 'ham' } : { text });
  });
  return lines.join('\n') + '\n';
}
