// A WordPiece tokeniser learnt from the training corpus. The vocabulary is learnt by byte-pair-style merges over
// word counts (as Hugging Face's WordPiece trainer does) and texts are split by greedy longest-match-first (BERT).
// Why WordPiece rather than BPE: encoding needs only the vocabulary (no ranked merge list to replay), it is one
// fast greedy pass per word, and the saved artefact is a plain list of strings.
import { words } from './words.ts';
import { InvalidInput } from '../invalid-input.ts';

const PAD = '[PAD]';
export const UNK = '[UNK]';
export const CLS = '[CLS]';
const SPECIALS = [PAD, UNK, CLS];
export const PAD_ID = 0;
export const UNK_ID = 1;
export const CLS_ID = 2;

/** A piece inside a word is written with this prefix, so "playing" may be "play", "##ing". */
const CONTINUATION = '##';
/** Longer words (base64 blobs, URLs run together) are one [UNK], as in BERT; they carry no reusable pieces. */
const MAX_WORD_CHARS = 100;

/** What is saved with a model: enough to encode texts exactly as in training. */
export interface WordPieceSpec {
  kind: 'wordpiece';
  /** Tokens per text (per window, with `windows`), [CLS] included; longer texts are cut, shorter padded with [PAD]. */
  maxLength: number;
  /**
   * A text is read as this many windows of `maxLength` tokens, each led by [CLS] (see `windowsOf` in encode.ts), so
   * a model sees a long text's end and not only its start. Absent in encodings saved before it existed: one window.
   */
  windows?: number;
  /** Token strings by id; ids 0, 1, 2 are [PAD], [UNK], [CLS]. */
  vocab: string[];
}

export interface LearnOptions {
  /** Vocabulary size to reach, special tokens and single characters included. */
  vocabSize: number;
  maxLength: number;
  /** Characters and merges seen fewer times than this are left out (default 2). */
  minFrequency?: number;
}

export class WordPiece {
  readonly spec: WordPieceSpec;
  private readonly ids: Map<string, number>;
  private readonly longest: number;
  private readonly cache = new Map<string, number[]>();

  constructor(spec: WordPieceSpec) {
    if (!Number.isInteger(spec.maxLength) || spec.maxLength < 1) {
      throw new InvalidInput(`tokeniser max length must be a positive integer, got ${spec.maxLength}`);
    }
    if (spec.windows !== undefined && !(Number.isInteger(spec.windows) && spec.windows >= 1)) {
      throw new InvalidInput(`tokeniser windows must be a positive integer, got ${spec.windows}`);
    }
    if ((spec.windows ?? 1) > 1 && spec.maxLength < 2) {
      throw new InvalidInput(
        `tokeniser windows need a max length of at least 2 ([CLS] and a token), got ${spec.maxLength}`,
      );
    }
    if (SPECIALS.some((s, i) => spec.vocab[i] !== s)) {
      throw new InvalidInput(`tokeniser vocabulary must start with ${SPECIALS.join(', ')}`);
    }
    this.spec = spec;
    this.ids = new Map(spec.vocab.map((t, i) => [t, i]));
    if (this.ids.size !== spec.vocab.length) throw new InvalidInput('tokeniser vocabulary has duplicate tokens');
    this.longest = Math.max(...spec.vocab.map((t) => [...t.replace(/^##/, '')].length));
  }

  get vocabSize(): number {
    return this.spec.vocab.length;
  }

  /** Token ids of a text: [CLS], then the pieces of its words, cut at `limit` (no padding). */
  encode(text: string, limit = this.spec.maxLength): number[] {
    const out = [CLS_ID];
    for (const word of words(text)) {
      if (out.length >= limit) break;
      out.push(...this.pieces(word));
    }
    return out.slice(0, limit);
  }

  /** The token strings of a text, for inspection. */
  tokens(text: string): string[] {
    return this.encode(text).map((id) => this.spec.vocab[id]);
  }

  /**
   * Greedy longest-match-first. A character no vocabulary entry starts with becomes one [UNK] and matching goes on
   * after it, so an unseen character costs one token, not the whole word.
   */
  private pieces(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const chars = [...word];
    const out: number[] = [];
    if (chars.length > MAX_WORD_CHARS) out.push(UNK_ID);
    else {
      for (let start = 0; start < chars.length;) {
        let end = Math.min(chars.length, start + this.longest);
        let id: number | undefined;
        for (; end > start; end--) {
          const piece = chars.slice(start, end).join('');
          id = this.ids.get(start === 0 ? piece : CONTINUATION + piece);
          if (id !== undefined) break;
        }
        if (id === undefined) {
          out.push(UNK_ID);
          start++;
        } else {
          out.push(id);
          start = end;
        }
      }
    }
    this.cache.set(word, out);
    return out;
  }
}

/**
 * Learns a vocabulary from `texts`: the characters seen at least `minFrequency` times (as word starts and as
 * continuations), then merges of adjacent pieces, the most frequent pair first, until `vocabSize` tokens.
 * Deterministic: equal counts are broken by the pair's strings in code-unit order, never by corpus order.
 */
export function learnWordPiece(texts: Iterable<string>, options: LearnOptions): WordPiece {
  const { vocabSize, maxLength } = options;
  const minFrequency = options.minFrequency ?? 2;
  if (!Number.isInteger(vocabSize) || vocabSize <= SPECIALS.length) {
    throw new InvalidInput(`vocabulary size must be an integer above ${SPECIALS.length}, got ${vocabSize}`);
  }
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const w of words(text)) if (w.length <= MAX_WORD_CHARS) counts.set(w, (counts.get(w) ?? 0) + 1);
  }

  const symbols: string[] = [];
  const symbolIds = new Map<string, number>();
  const intern = (s: string) => {
    let id = symbolIds.get(s);
    if (id === undefined) {
      id = symbols.length;
      symbols.push(s);
      symbolIds.set(s, id);
    }
    return id;
  };

  const charCounts = new Map<string, number>();
  for (const [w, n] of counts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  const alphabet = [...charCounts].filter(([, n]) => n >= minFrequency).map(([ch]) => ch);
  alphabet.sort();
  const vocab = [...SPECIALS, ...alphabet, ...alphabet.map((ch) => CONTINUATION + ch)];
  for (const t of vocab) intern(t);
  if (vocab.length >= vocabSize)
    return new WordPiece({ kind: 'wordpiece', maxLength, vocab: vocab.slice(0, vocabSize) });

  // Words as symbol sequences. Rare words (mostly base64 lines, hashes and ids in emails) and words holding a
  // character outside the alphabet are left out of the merges: they are most of the work and add no pieces.
  const seqs: number[][] = [];
  const freqs: number[] = [];
  for (const [w, n] of counts) {
    if (n < minFrequency) continue;
    const chars = [...w];
    if (!chars.every((ch) => symbolIds.has(ch))) continue;
    seqs.push(chars.map((ch, i) => symbolIds.get(i === 0 ? ch : CONTINUATION + ch)!));
    freqs.push(n);
  }

  const merges = new PairCounts(symbols);
  seqs.forEach((seq, w) => merges.addWord(seq, w, freqs[w]));
  while (vocab.length < vocabSize) {
    const best = merges.popBest(minFrequency);
    if (!best) break;
    const [a, b] = best;
    const merged = symbols[a] + symbols[b].slice(CONTINUATION.length);
    const m = intern(merged);
    vocab.push(merged);
    for (const w of merges.wordsWith(a, b)) {
      merges.removeWord(seqs[w], w, freqs[w]);
      seqs[w] = mergePair(seqs[w], a, b, m);
      merges.addWord(seqs[w], w, freqs[w]);
    }
    merges.flush();
  }
  return new WordPiece({ kind: 'wordpiece', maxLength, vocab });
}

function mergePair(seq: number[], a: number, b: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < seq.length; i++) {
    if (seq[i] === a && seq[i + 1] === b) {
      out.push(merged);
      i++;
    } else out.push(seq[i]);
  }
  return out;
}

/**
 * Counts of adjacent symbol pairs over the words, the words each pair occurs in, and a max-heap of (count, pair)
 * with lazy updates: a pair's count may only have fallen below its heap entry's, so a popped entry whose count is
 * stale is pushed again with the current count. Only rising counts push entries, which keeps the heap small.
 */
class PairCounts {
  private readonly counts = new Map<number, number>();
  private readonly where = new Map<number, Set<number>>();
  private readonly heap: [number, number][] = [];
  /** The highest count each pair has in the heap. */
  private readonly inHeap = new Map<number, number>();
  private readonly touched = new Set<number>();
  // Symbol ids stay below 2^21, so a pair packs into one safe integer.
  private static readonly SHIFT = 2 ** 21;

  constructor(private readonly symbols: string[]) {}

  addWord(seq: number[], w: number, freq: number): void {
    for (let i = 0; i + 1 < seq.length; i++) {
      const key = seq[i] * PairCounts.SHIFT + seq[i + 1];
      this.counts.set(key, (this.counts.get(key) ?? 0) + freq);
      let set = this.where.get(key);
      if (!set) this.where.set(key, (set = new Set()));
      set.add(w);
      this.touched.add(key);
    }
  }

  removeWord(seq: number[], w: number, freq: number): void {
    for (let i = 0; i + 1 < seq.length; i++) {
      const key = seq[i] * PairCounts.SHIFT + seq[i + 1];
      this.counts.set(key, this.counts.get(key)! - freq);
      this.where.get(key)!.delete(w);
    }
  }

  /** The words holding the pair, in a fixed order (a copy: merging edits the sets). */
  wordsWith(a: number, b: number): number[] {
    return [...(this.where.get(a * PairCounts.SHIFT + b) ?? [])].sort((x, y) => x - y);
  }

  /** Pushes the pairs whose count rose above their heap entry since the last flush. */
  flush(): void {
    for (const key of this.touched) {
      const n = this.counts.get(key)!;
      if (n > (this.inHeap.get(key) ?? 0)) this.push(n, key);
    }
    this.touched.clear();
  }

  popBest(minFrequency: number): [number, number] | undefined {
    this.flush();
    while (this.heap.length > 0) {
      const [n, key] = this.pop();
      const current = this.counts.get(key)!;
      if (current !== n) {
        if (n === this.inHeap.get(key)) {
          this.inHeap.delete(key);
          if (current > 0) this.push(current, key);
        }
        continue;
      }
      if (n < minFrequency) return undefined;
      this.inHeap.delete(key);
      return [Math.floor(key / PairCounts.SHIFT), key % PairCounts.SHIFT];
    }
    return undefined;
  }

  // Higher count first; equal counts by the left then the right piece's string.
  private before(x: [number, number], y: [number, number]): boolean {
    if (x[0] !== y[0]) return x[0] > y[0];
    const s = this.symbols;
    const [xa, xb] = [s[Math.floor(x[1] / PairCounts.SHIFT)], s[x[1] % PairCounts.SHIFT]];
    const [ya, yb] = [s[Math.floor(y[1] / PairCounts.SHIFT)], s[y[1] % PairCounts.SHIFT]];
    return xa !== ya ? xa < ya : xb < yb;
  }

  private push(n: number, key: number): void {
    this.inHeap.set(key, n);
    const h = this.heap;
    h.push([n, key]);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): [number, number] {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && this.before(h[l], h[best])) best = l;
        if (r < h.length && this.before(h[r], h[best])) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best], h[i]];
        i = best;
      }
    }
    return top;
  }
}
