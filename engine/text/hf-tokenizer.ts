// A pretrained model's own tokenizer, read from the tokenizer.json Hugging Face `tokenizers` writes: the BERT kind
// (added tokens, BertNormalizer, BertPreTokenizer, WordPiece, a [CLS] … [SEP] template), with its truncation and
// padding. Anything else in the file is refused by name rather than tokenized differently from the model's training.
import { InvalidInput } from '../invalid-input.ts';
import { bertNormalize, bertPreTokenize, type BertNormalizerSpec } from './bert-normalizer.ts';

export interface HfTokenizerSpec {
  normalizer: BertNormalizerSpec;
  vocab: Map<string, number>;
  unkId: number;
  continuingPrefix: string;
  /** Longer words are one [UNK]. */
  maxWordChars: number;
  /** Special tokens matched verbatim in the raw text before normalising, by content. */
  added: Map<string, number>;
  /** The single-sequence template: token ids, with `null` where the text's tokens go. */
  template: (number | null)[];
  /** Tokens per text, specials included (the file's truncation), or undefined for no limit. */
  maxLength?: number;
  truncateLeft: boolean;
  padId: number;
  /** A fixed padded length, or undefined to pad a batch to its longest text. */
  padTo?: number;
  padLeft: boolean;
}

export interface Encoded {
  /** Token ids, one row per text, all of one length. */
  ids: number[][];
  /** 1 for a token, 0 for padding, aligned with `ids`. */
  mask: number[][];
}

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Reads and checks a parsed tokenizer.json; `source` names it in errors. */
export function parseTokenizerJson(json: unknown, source: string): HfTokenizerSpec {
  const fail = (field: string, problem: string) => new InvalidInput(`${source}: ${field} ${problem}`);
  const section = (field: string, kinds: string[]): Json => {
    const value = isObject(json) ? json[field] : undefined;
    if (!isObject(value) || !kinds.includes(value.type as string)) {
      const got = isObject(value) ? JSON.stringify(value.type) : JSON.stringify(value ?? null);
      throw fail(field, `is ${got}; only ${kinds.join(' or ')} (a BERT WordPiece tokenizer) is supported`);
    }
    return value;
  };
  const model = section('model', ['WordPiece']);
  const norm = section('normalizer', ['BertNormalizer']);
  section('pre_tokenizer', ['BertPreTokenizer']);
  const post = section('post_processor', ['TemplateProcessing', 'BertProcessing']);
  const top = json as Json;

  if (!isObject(model.vocab)) throw fail('model.vocab', 'must be an object of token ids');
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw fail(`model.vocab[${JSON.stringify(token)}]`, 'is no id');
    vocab.set(token, id as number);
  }
  const idOf = (field: string, token: unknown) => {
    const id = typeof token === 'string' ? vocab.get(token) : undefined;
    if (id === undefined) throw fail(field, `${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  };

  const added = new Map<string, number>();
  for (const [i, t] of (Array.isArray(top.added_tokens) ? top.added_tokens : []).entries()) {
    if (!isObject(t) || typeof t.content !== 'string' || !Number.isInteger(t.id))
      throw fail(`added_tokens[${i}]`, 'needs a content string and an id');
    for (const flag of ['single_word', 'lstrip', 'rstrip', 'normalized'] as const) {
      if (t[flag] === true) throw fail(`added_tokens[${i}].${flag}`, 'is true, which is not supported');
    }
    added.set(t.content, t.id as number);
  }

  const lowercase = norm.lowercase !== false;
  const normalizer: BertNormalizerSpec = {
    cleanText: norm.clean_text !== false,
    handleChineseChars: norm.handle_chinese_chars !== false,
    // `null` means "as lowercase does", the way BERT's uncased models were trained.
    stripAccents: norm.strip_accents === null || norm.strip_accents === undefined ? lowercase : !!norm.strip_accents,
    lowercase,
  };

  const special = (entry: unknown, field: string): number => {
    if (post.type === 'BertProcessing') {
      if (!Array.isArray(entry) || !Number.isInteger(entry[1])) throw fail(field, 'must be [token, id]');
      return entry[1] as number;
    }
    const tokens = isObject(post.special_tokens) ? post.special_tokens : {};
    const known = isObject(entry) && tokens[entry.id as string];
    if (!isObject(known) || !Array.isArray(known.ids) || known.ids.length !== 1)
      throw fail(field, 'names a special token with no single id in post_processor.special_tokens');
    return known.ids[0] as number;
  };
  const template: (number | null)[] =
    post.type === 'BertProcessing'
      ? [special(post.cls, 'post_processor.cls'), null, special(post.sep, 'post_processor.sep')]
      : (Array.isArray(post.single) ? post.single : []).map((piece: unknown, i: number) => {
          const field = `post_processor.single[${i}]`;
          if (isObject(piece) && isObject(piece.Sequence)) {
            if (piece.Sequence.id !== 'A') throw fail(field, 'must be sequence A');
            return null;
          }
          return special(isObject(piece) ? piece.SpecialToken : undefined, field);
        });
  if (template.filter((t) => t === null).length !== 1) throw fail('post_processor.single', 'must hold sequence A once');

  const truncation = top.truncation;
  const padding = top.padding;
  const strategy = isObject(padding) ? padding.strategy : undefined;
  if (isObject(padding) && padding.pad_to_multiple_of) throw fail('padding.pad_to_multiple_of', 'is not supported');
  return {
    normalizer,
    vocab,
    unkId: idOf('model.unk_token', model.unk_token),
    continuingPrefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##',
    maxWordChars: Number.isInteger(model.max_input_chars_per_word) ? (model.max_input_chars_per_word as number) : 100,
    added,
    template,
    maxLength: isObject(truncation) ? (truncation.max_length as number) : undefined,
    truncateLeft: isObject(truncation) && truncation.direction === 'Left',
    padId: isObject(padding) && Number.isInteger(padding.pad_id) ? (padding.pad_id as number) : 0,
    padTo: isObject(strategy) && Number.isInteger(strategy.Fixed) ? (strategy.Fixed as number) : undefined,
    padLeft: isObject(padding) && padding.direction === 'Left',
  };
}

export interface EncodeOptions {
  /** Tokens per text, specials included; overrides the file's truncation. */
  maxLength?: number;
  /** 'longest' pads a batch to its longest text, a number to that length, 'file' (default) as tokenizer.json says. */
  padding?: 'longest' | 'file' | number;
}

export class HfTokenizer {
  private readonly splitter: RegExp | undefined;
  private readonly words = new Map<string, number[]>();

  constructor(readonly spec: HfTokenizerSpec) {
    // Longest first, so an alternation matches the longest added token at each position.
    const contents = [...spec.added.keys()].sort((a, b) => b.length - a.length);
    const escaped = contents.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.splitter = contents.length > 0 ? new RegExp(`(${escaped.join('|')})`, 'u') : undefined;
  }

  /** The token ids of one text with the template's specials, truncated to `maxLength` (default: the file's). */
  encode(text: string, maxLength = this.spec.maxLength): number[] {
    let body: number[] = [];
    const parts = this.splitter ? text.split(this.splitter) : [text];
    // split() with a capture group puts the matched added tokens at the odd indices.
    parts.forEach((part, i) => {
      if (i % 2 === 1) body.push(this.spec.added.get(part)!);
      else
        for (const word of bertPreTokenize(bertNormalize(part, this.spec.normalizer))) body.push(...this.piece(word));
    });
    const room = maxLength === undefined ? Infinity : Math.max(0, maxLength - (this.spec.template.length - 1));
    if (body.length > room) body = this.spec.truncateLeft ? body.slice(body.length - room) : body.slice(0, room);
    return this.spec.template.flatMap((t) => (t === null ? body : [t]));
  }

  /** Ids and attention masks of a batch, padded to one length. */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): Encoded {
    const rows = texts.map((t) => this.encode(t, options.maxLength ?? this.spec.maxLength));
    const longest = rows.reduce((n, r) => Math.max(n, r.length), 0);
    const padding = options.padding ?? 'file';
    const fixed = padding === 'file' ? this.spec.padTo : padding === 'longest' ? undefined : padding;
    const width = Math.max(longest, fixed ?? 0);
    const pad = (row: number[], fill: number) => {
      const extra = Array<number>(width - row.length).fill(fill);
      return this.spec.padLeft ? [...extra, ...row] : [...row, ...extra];
    };
    return {
      ids: rows.map((r) => pad(r, this.spec.padId)),
      mask: rows.map((r) =>
        pad(
          r.map(() => 1),
          0,
        ),
      ),
    };
  }

  /** WordPiece: greedy longest-match-first; a word with any part outside the vocabulary is one [UNK]. */
  private piece(word: string): number[] {
    let out = this.words.get(word);
    if (!out) {
      out = this.pieces(Array.from(word)) ?? [this.spec.unkId];
      this.words.set(word, out);
    }
    return out;
  }

  private pieces(chars: string[]): number[] | undefined {
    if (chars.length > this.spec.maxWordChars) return undefined;
    const out: number[] = [];
    for (let start = 0; start < chars.length;) {
      let end = chars.length;
      for (; end > start; end--) {
        const piece = chars.slice(start, end).join('');
        const id = this.spec.vocab.get(start === 0 ? piece : this.spec.continuingPrefix + piece);
        if (id !== undefined) {
          out.push(id);
          break;
        }
      }
      if (end === start) return undefined;
      start = end;
    }
    return out;
  }
}
