// Hugging Face `tokenizers`' BertNormalizer and BertPreTokenizer, as a tokenizer.json names them, so a pretrained
// BERT's texts become exactly the words its vocabulary was built on. Character classes follow the Rust crate's
// definitions (whitespace is Unicode White_Space; "control" is the Other categories; punctuation is ASCII
// punctuation or a Unicode P* category), written as Unicode property escapes and corrected to the Unicode version
// those definitions use (unicode-drift.ts).
import { FORMER_MARKS, FORMER_PUNCTUATION, newerThanHf } from './unicode-drift.ts';

export interface BertNormalizerSpec {
  /** Drop NUL, U+FFFD and control characters; turn every whitespace character into a space. */
  cleanText: boolean;
  /** Put spaces around CJK ideographs, so each is a word of its own. */
  handleChineseChars: boolean;
  /** NFD, then drop non-spacing marks. */
  stripAccents: boolean;
  lowercase: boolean;
}

const WHITESPACE = /\p{White_Space}/u;
const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;
// Tab, newline and carriage return are Cc but count as whitespace; other whitespace controls (VT, FF, NEL) go.
const isControl = (ch: string) =>
  ch !== '\t' && ch !== '\n' && ch !== '\r' && CONTROL.test(ch) && !newerThanHf(ch.codePointAt(0)!);
const NONSPACING_MARK = /\p{Mn}/u;

/** NFD, then without non-spacing marks; characters Hugging Face's tables do not know are left untouched. */
function stripAccents(text: string): string {
  let out = '';
  let run = '';
  const flush = () => {
    for (const ch of run.normalize('NFD')) {
      const cp = ch.codePointAt(0)!;
      if (FORMER_MARKS.has(cp) || (NONSPACING_MARK.test(ch) && !newerThanHf(cp))) continue;
      out += ch;
    }
    run = '';
  };
  for (const ch of text) {
    if (!newerThanHf(ch.codePointAt(0)!)) run += ch;
    else {
      flush();
      out += ch;
    }
  }
  flush();
  return out;
}

/** The CJK Unified Ideographs blocks (and compatibility ideographs) BERT splits per character; not kana or Hangul. */
function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export function bertNormalize(text: string, spec: BertNormalizerSpec): string {
  let out = text;
  if (spec.cleanText) {
    let cleaned = '';
    for (const ch of out) {
      if (ch === '\0' || ch === '\ufffd' || isControl(ch)) continue;
      cleaned += WHITESPACE.test(ch) ? ' ' : ch;
    }
    out = cleaned;
  }
  if (spec.handleChineseChars) {
    let spaced = '';
    for (const ch of out) spaced += isChinese(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
    out = spaced;
  }
  if (spec.stripAccents) out = stripAccents(out);
  // Per character, as the Rust normalizer does: a whole-string toLowerCase would apply the final-sigma rule.
  if (spec.lowercase) out = Array.from(out, (ch) => ch.toLowerCase()).join('');
  return out;
}

// ASCII punctuation includes symbols such as $ + < = > ^ ` | ~, which Unicode files under S*, not P*.
const PUNCTUATION = /[\p{P}!-/:-@[-`{-~]/u;
const isPunctuation = (ch: string) => {
  const cp = ch.codePointAt(0)!;
  return FORMER_PUNCTUATION.has(cp) || (PUNCTUATION.test(ch) && !newerThanHf(cp));
};

/** BertPreTokenizer: split on whitespace (dropped), and every punctuation character is a word of its own. */
export function bertPreTokenize(text: string): string[] {
  const words: string[] = [];
  let word = '';
  for (const ch of text) {
    if (WHITESPACE.test(ch) || isPunctuation(ch)) {
      if (word) words.push(word);
      word = '';
      if (!WHITESPACE.test(ch)) words.push(ch);
    } else word += ch;
  }
  if (word) words.push(word);
  return words;
}
