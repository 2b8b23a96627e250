// The tokenizer.json reader on a small hand-written BERT tokenizer: normalising, WordPiece pieces, [UNK] words,
// special tokens in the text, the template, truncation and padding, and a clear refusal of any other kind of file.
// Parity with Hugging Face's own tokenizer on the real MiniLM file is test/oracle/tokenizer.test.ts.
import { describe, expect, it } from 'vitest';
import { HfTokenizer, parseTokenizerJson } from '../../engine/text/hf-tokenizer.ts';
import { tokenizerJson } from '../helpers/tiny-bert.ts';

const tokenizer = (overrides?: Record<string, unknown>) =>
  new HfTokenizer(parseTokenizerJson(tokenizerJson(overrides), 'tokenizer.json'));

describe('HfTokenizer (BERT tokenizer.json)', () => {
  it('lower-cases, strips accents, splits punctuation and words into pieces; a word it cannot spell is one [UNK]', () => {
    expect(tokenizer().encode('HELLO,\tCafé  playings!', Infinity)).toEqual([2, 5, 10, 12, 7, 8, 9, 11, 3]);
    // "plays" spells as play ##s; "playx" has no piece for "x", so the whole word is [UNK], not play + [UNK].
    expect(tokenizer().encode('plays playx', Infinity)).toEqual([2, 7, 9, 1, 3]);
  });

  it('keeps special tokens written in the text, and drops control characters', () => {
    expect(tokenizer().encode('hello [MASK] world\u0007', Infinity)).toEqual([2, 5, 4, 6, 3]);
  });

  it('truncates to max length with the template specials counted, and pads as the file says or to the longest', () => {
    const tok = tokenizer();
    const { ids, mask } = tok.encodeBatch(['hello world hello world hello world hello', 'hello']);
    expect(ids).toEqual([
      [2, 5, 6, 5, 6, 5, 6, 3],
      [2, 5, 3, 0, 0, 0, 0, 0],
    ]);
    expect(mask[1]).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    expect(tok.encodeBatch(['hello world', 'hello'], { maxLength: 3, padding: 'longest' }).ids).toEqual([
      [2, 5, 3],
      [2, 5, 3],
    ]);
    const left = tokenizer({
      truncation: { max_length: 4, direction: 'Left' },
      padding: { strategy: 'BatchLongest', direction: 'Left', pad_id: 0 },
    });
    expect(left.encodeBatch(['hello world play', 'world']).ids).toEqual([
      [2, 6, 7, 3],
      [0, 2, 6, 3],
    ]);
  });

  it('refuses a tokenizer.json of another kind, naming the field', () => {
    const bpe = tokenizerJson({ model: { type: 'BPE', vocab: {}, merges: [] } });
    expect(() => parseTokenizerJson(bpe, 'gpt2/tokenizer.json')).toThrow(
      'gpt2/tokenizer.json: model is "BPE"; only WordPiece (a BERT WordPiece tokenizer) is supported',
    );
    expect(() => parseTokenizerJson(tokenizerJson({ pre_tokenizer: { type: 'ByteLevel' } }), 't.json')).toThrow(
      't.json: pre_tokenizer is "ByteLevel"; only BertPreTokenizer',
    );
    expect(() => parseTokenizerJson([], 't.json')).toThrow('t.json: model is null');
    const lstrip = tokenizerJson();
    (lstrip.added_tokens as Record<string, unknown>[])[4].lstrip = true;
    expect(() => parseTokenizerJson(lstrip, 't.json')).toThrow(
      't.json: added_tokens[4].lstrip is true, which is not supported',
    );
  });
});
