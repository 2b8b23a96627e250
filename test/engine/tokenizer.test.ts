// The WordPiece tokeniser: learnt deterministically from a corpus, known words round-trip, unseen characters become
// [UNK] without losing the rest, texts are normalised, truncated and padded.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/data/index.ts';
import { ATTENTION_MASK, INPUT_IDS, textEncoder } from '../../engine/text/encode.ts';
import { CLS, PAD_ID, UNK, WordPiece, learnWordPiece } from '../../engine/text/wordpiece.ts';
import { normalise, words } from '../../engine/text/words.ts';
import { spamAssassin } from '../../infra/demo/spam-assassin.ts';

const corpus = [
  'The playing players played; the player plays.',
  'Unbelievable offers: playing is free, free, FREE!',
  'Players who play replay the plays they played.',
  'Free offers for players: play now, pay later.',
];

describe('WordPiece tokeniser', () => {
  it('learns the same vocabulary from the same texts in any order, ties broken by the pieces themselves', () => {
    const a = learnWordPiece(corpus, { vocabSize: 80, maxLength: 16, minFrequency: 1 });
    const b = learnWordPiece([...corpus].reverse(), { vocabSize: 80, maxLength: 16, minFrequency: 1 });
    expect(a.spec.vocab).toHaveLength(80);
    expect(b.spec.vocab).toEqual(a.spec.vocab);
    expect(a.spec.vocab.slice(0, 3)).toEqual(['[PAD]', '[UNK]', '[CLS]']);
  });

  it('splits frequent words into few pieces, and the pieces rebuild every word', () => {
    const wp = learnWordPiece(corpus, { vocabSize: 120, maxLength: 64, minFrequency: 1 });
    expect(wp.tokens('players')).toEqual([CLS, 'players']);
    const text = 'The players replay unbelievable offers';
    const pieces = wp.tokens(text).slice(1);
    expect(pieces).not.toContain(UNK);
    // Joining the pieces (continuations without their '##') gives back the normalised words.
    const rebuilt = pieces.reduce<string[]>((ws, p) => {
      if (p.startsWith('##')) ws[ws.length - 1] += p.slice(2);
      else ws.push(p);
      return ws;
    }, []);
    expect(rebuilt).toEqual(words(text));
  });

  it('maps a character it never saw to one [UNK] and keeps the rest of the word', () => {
    const wp = learnWordPiece(corpus, { vocabSize: 120, maxLength: 64, minFrequency: 1 });
    expect(wp.tokens('playжer')).toEqual([CLS, 'play', UNK, '##er']);
    expect(wp.tokens('play ☃ free')).toEqual([CLS, 'play', UNK, 'free']);
    expect(wp.tokens('日本 free')).toEqual([CLS, UNK, UNK, 'free']);
    // A character the corpus holds only once is left out of the alphabet with the default minimum frequency 2.
    const rare = learnWordPiece([...corpus, 'zebra'], { vocabSize: 120, maxLength: 64 });
    expect(rare.spec.vocab).not.toContain('z');
    expect(rare.tokens('zebra')[1]).toBe(UNK);
  });

  it('normalises with NFKC and lower case before splitting', () => {
    expect(normalise('ＦＲＥＥ Ofﬁce')).toBe('free office');
    expect(words("Don't stop—now!")).toEqual(['don', "'", 't', 'stop', '—', 'now', '!']);
    const wp = learnWordPiece(corpus, { vocabSize: 120, maxLength: 64, minFrequency: 1 });
    expect(wp.encode('ＦＲＥＥ')).toEqual(wp.encode('free'));
  });

  it('truncates to maxLength with [CLS] first, and pads with [PAD] under a 0 mask', () => {
    const wp = learnWordPiece(corpus, { vocabSize: 120, maxLength: 5, minFrequency: 1 });
    const long = 'free play free play free play free play';
    expect(wp.encode(long)).toHaveLength(5);
    expect(wp.tokens(long)).toEqual([CLS, 'free', 'play', 'free', 'play']);
    const inputs = textEncoder(wp.spec).encode([long, 'free']);
    expect(inputs[INPUT_IDS].dims).toEqual([2, 5]);
    expect(Array.from(inputs[INPUT_IDS].data.slice(5) as BigInt64Array, Number)).toEqual([
      ...wp.encode('free'),
      PAD_ID,
      PAD_ID,
      PAD_ID,
    ]);
    expect(Array.from(inputs[ATTENTION_MASK].data as Float32Array)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  });

  it('reads a long text as windows led by [CLS]: consecutive while they hold it, else spread to its end', () => {
    const wp = learnWordPiece(corpus, { vocabSize: 120, maxLength: 3, minFrequency: 1 });
    const spec = { ...wp.spec, windows: 3 };
    const ids = (text: string) => Array.from(textEncoder(spec).encode([text])[INPUT_IDS].data as BigInt64Array, Number);
    const [cls, free, play] = wp.encode('free play');
    expect(ids('free play free')).toEqual([cls, free, play, cls, free, PAD_ID, PAD_ID, PAD_ID, PAD_ID]);
    // 8 tokens after [CLS], 2 a window: windows at 0, 3 and 6, so the text's end is read.
    const long = 'free play free free free free play play';
    expect(ids(long)).toEqual([cls, free, play, cls, free, free, cls, play, play]);
    const mask = textEncoder(spec).encode(['free play free'])[ATTENTION_MASK].data as Float32Array;
    expect(Array.from(mask)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0]);
    // An encoding saved before windows existed reads the start alone, as it did.
    expect(Array.from(textEncoder(wp.spec).encode([long])[INPUT_IDS].data as BigInt64Array, Number)).toEqual([
      cls,
      free,
      play,
    ]);
    expect(() => new WordPiece({ ...wp.spec, windows: 0 })).toThrow('windows must be a positive integer');
  });

  it('survives its saved form: the JSON spec alone encodes identically', () => {
    const wp = learnWordPiece(corpus, { vocabSize: 90, maxLength: 12, minFrequency: 1 });
    const restored = new WordPiece(JSON.parse(JSON.stringify(wp.spec)));
    for (const text of [...corpus, 'unseen ☃ words']) expect(restored.encode(text)).toEqual(wp.encode(text));
    expect(() => new WordPiece({ ...wp.spec, vocab: wp.spec.vocab.slice(1) })).toThrow(
      'must start with [PAD], [UNK], [CLS]',
    );
    expect(() => new WordPiece({ ...wp.spec, maxLength: 0 })).toThrow('max length must be a positive integer');
  });

  it('learns from the SpamAssassin period-1 emails, shuffled or not, to one vocabulary', () => {
    const texts = spamAssassin(['easy-ham-1', 'spam-1']).map((r) => r.text);
    const learnt = learnWordPiece(texts, { vocabSize: 2000, maxLength: 128 });
    const shuffled = Rng.fromSeed(3).shuffle([...texts]);
    expect(learnWordPiece(shuffled, { vocabSize: 2000, maxLength: 128 }).spec.vocab).toEqual(learnt.spec.vocab);
    expect(learnt.tokens('Click here to unsubscribe')).toEqual([CLS, 'click', 'here', 'to', 'unsubscribe']);
  }, 60_000);
});
