// fastText-style features: the words of a text, its word bigrams (up to `wordNgrams`) and the character n-grams of
// each word (with '<' and '>' marking its ends), each hashed into a fixed number of buckets. Hashing happens on the
// host, so the model sees only ids: no vocabulary to learn or store, and unseen words still land in a bucket.
import { words } from './words.ts';
import { InvalidInput } from '../invalid-input.ts';

export interface HashedNgramSpec {
  kind: 'hashed-ngrams';
  /** Rows of the embedding table; every n-gram's hash is taken modulo this. */
  buckets: number;
  /** Longest word n-gram (1: words only, 2: words and bigrams). */
  wordNgrams: number;
  /** Character n-gram lengths, inclusive; [0, 0] for none. */
  charNgrams: [number, number];
  /**
   * N-grams kept per text (the first ones in reading order); shorter lists are padded. With `distinct`, the
   * distinct n-grams kept per text (the first seen): a cap on the input's width, meant to be reached only by
   * attachments and other junk, not by the words of a message.
   */
  maxLength: number;
  /**
   * Each distinct n-gram of the whole text once, weighted by its share of the text's n-grams: the same mean bag as
   * the full list in a fraction of the ids (a 4,000-word email has about 12,000 n-grams, 4,000 distinct), so a
   * long text is read to its end. Absent in encodings saved before it existed: those read the first `maxLength`.
   */
  distinct?: boolean;
}

/** A new model's encoding: each text read whole, as its distinct n-grams with counts (`distinct`). */
export function distinctNgrams(sizes: Omit<HashedNgramSpec, 'kind' | 'distinct'>): HashedNgramSpec {
  const { buckets, wordNgrams, charNgrams, maxLength } = sizes;
  return { kind: 'hashed-ngrams', buckets, wordNgrams, charNgrams, maxLength, distinct: true };
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a over UTF-16 code units (fastText hashes bytes the same way); a pure function of the string. */
export function fnv1a(s: string): number {
  return fnvOver(FNV_OFFSET, s) >>> 0;
}

/** FNV-1a's state after `s`, from state `h`: a hash carried on over more text without building the string. */
function fnvOver(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

/** The state after a word n-gram's tag, and what joins its words. */
const WORD_TAG = fnvOver(FNV_OFFSET, 'w ');
const BETWEEN_WORDS = ' ';

export function checkNgramSpec(spec: HashedNgramSpec): void {
  const [minn, maxn] = spec.charNgrams;
  const ok =
    Number.isInteger(spec.buckets) &&
    spec.buckets >= 1 &&
    Number.isInteger(spec.wordNgrams) &&
    spec.wordNgrams >= 1 &&
    Number.isInteger(minn) &&
    Number.isInteger(maxn) &&
    (maxn === 0 ? minn === 0 : minn >= 1 && maxn >= minn) &&
    Number.isInteger(spec.maxLength) &&
    spec.maxLength >= 1 &&
    (spec.distinct === undefined || typeof spec.distinct === 'boolean');
  if (!ok) throw new InvalidInput(`bad n-gram settings ${JSON.stringify(spec)}`);
}

/**
 * The bucket ids of a text's n-grams in reading order: for each word, the word, the word n-grams ending at it,
 * then its character n-grams; cut at maxLength. Word and character n-grams share the buckets; a tag keeps a word
 * and the same string as a character n-gram apart.
 */
export function ngramIds(text: string, spec: HashedNgramSpec, limit = spec.maxLength): number[] {
  const ws = words(text);
  const out: number[] = [];
  const [minn, maxn] = spec.charNgrams;
  const add = (s: string) => out.push(fnv1a(s) % spec.buckets);
  // The hash states of the word n-grams ending at the word before, by length: the n-gram ending here carries on from
  // the one a word shorter ending there (the same hash as the string 'w a b', without building it).
  const ending: number[] = [];
  for (let i = 0; i < ws.length && out.length < limit; i++) {
    for (let n = Math.min(spec.wordNgrams, i + 1); n >= 1; n--) {
      ending[n - 1] = fnvOver(n === 1 ? WORD_TAG : fnvOver(ending[n - 2], BETWEEN_WORDS), ws[i]);
    }
    for (let n = 1; n <= spec.wordNgrams && n <= i + 1; n++) out.push((ending[n - 1] >>> 0) % spec.buckets);
    if (maxn === 0) continue;
    const chars = [...`<${ws[i]}>`];
    for (let n = minn; n <= maxn; n++) {
      for (let s = 0; s + n <= chars.length; s++) add(`c ${chars.slice(s, s + n).join('')}`);
    }
  }
  return out.slice(0, limit);
}

/**
 * The distinct bucket ids of the whole text in order of first appearance, cut at `maxLength`, and how often each
 * occurs in the text.
 */
export function ngramCounts(text: string, spec: HashedNgramSpec): { ids: number[]; counts: number[] } {
  const count = countsOf(spec.buckets);
  const ids: number[] = [];
  for (const id of ngramIds(text, spec, Infinity)) {
    if (count[id] > 0) count[id]++;
    else if (ids.length < spec.maxLength) {
      count[id] = 1;
      ids.push(id);
    }
  }
  const counts = ids.map((id) => count[id]);
  for (const id of ids) count[id] = 0;
  return { ids, counts };
}

let counting = new Int32Array(0);
/** A count per bucket, all zero (ngramCounts leaves it so): reused from text to text instead of a Map a text. */
function countsOf(buckets: number): Int32Array {
  if (counting.length < buckets) counting = new Int32Array(buckets);
  return counting;
}
