// The `ratchet train` flags that size a text model trained from scratch (--arch encoder|fasttext).
import { DEFAULT_ARCH, type TextArch } from '../../engine/models/text.ts';
import { oneOf, positiveInt } from './args.ts';

export const textArchUsage = `
  text models (--arch encoder|fasttext, on JSONL {"text": "...", "label": ...}):
  --max-length N           tokens per window (encoder, default ${DEFAULT_ARCH.encoder.maxLength}), or the cap on distinct n-grams
                           per text (fasttext, default ${DEFAULT_ARCH.fasttext.maxLength}; a text is read whole up to it)
  --windows N              encoder windows per text, spread from its start to its end (default ${DEFAULT_ARCH.encoder.windows})
  --vocab-size N           WordPiece vocabulary learnt from the training texts (default ${DEFAULT_ARCH.encoder.vocabSize})
  --d-model N --heads N --layers N --ffn N   encoder sizes (default ${DEFAULT_ARCH.encoder.dModel}, ${DEFAULT_ARCH.encoder.heads}, ${DEFAULT_ARCH.encoder.layers}, ${DEFAULT_ARCH.encoder.ffn})
  --pooling mean|cls       encoder pooling (default mean)
  --buckets N --dim N      fasttext hash buckets and embedding width (default ${DEFAULT_ARCH.fasttext.buckets}, ${DEFAULT_ARCH.fasttext.dim})
  --word-ngrams N          longest word n-gram (default ${DEFAULT_ARCH.fasttext.wordNgrams})
  --char-ngrams MIN,MAX    character n-gram lengths, 0,0 for none (default ${DEFAULT_ARCH.fasttext.charNgrams.join(',')})`;

const encoderFlags = ['vocab-size', 'windows', 'd-model', 'heads', 'layers', 'ffn', 'pooling'] as const;
const fastTextFlags = ['buckets', 'dim', 'word-ngrams', 'char-ngrams'] as const;

export const textArchFlags = Object.fromEntries(
  ['max-length', ...encoderFlags, ...fastTextFlags].map((f) => [f, { type: 'string' }] as const),
) as Record<'max-length' | (typeof encoderFlags)[number] | (typeof fastTextFlags)[number], { type: 'string' }>;

type TextFlags = Partial<Record<keyof typeof textArchFlags, string>>;

/** The text architecture `--arch` names, or undefined for an MLP; a flag of the other architecture is an error. */
export function textArchFromFlags(arch: string | undefined, opts: TextFlags): TextArch | undefined {
  const kind = oneOf('--arch', arch, ['mlp', 'encoder', 'fasttext'] as const) ?? 'mlp';
  const foreign = (
    kind === 'encoder' ? fastTextFlags : kind === 'fasttext' ? encoderFlags : Object.keys(textArchFlags)
  ).filter((f) => opts[f as keyof TextFlags] !== undefined);
  if (foreign.length > 0) throw new Error(`--${foreign.join(', --')} do not apply to --arch ${kind}`);
  if (kind === 'mlp') return undefined;
  const int = (flag: keyof TextFlags) => positiveInt(`--${flag}`, opts[flag]);
  if (kind === 'encoder') {
    const d = DEFAULT_ARCH.encoder;
    return {
      kind,
      vocabSize: int('vocab-size') ?? d.vocabSize,
      maxLength: int('max-length') ?? d.maxLength,
      windows: int('windows') ?? d.windows,
      dModel: int('d-model') ?? d.dModel,
      heads: int('heads') ?? d.heads,
      layers: int('layers') ?? d.layers,
      ffn: int('ffn') ?? d.ffn,
      pooling: oneOf('--pooling', opts.pooling, ['mean', 'cls'] as const) ?? d.pooling,
    };
  }
  const d = DEFAULT_ARCH.fasttext;
  const chars = opts['char-ngrams']?.split(',').map((n) => Number(n.trim()));
  const none = chars?.length === 2 && chars[0] === 0 && chars[1] === 0;
  if (
    chars &&
    !none &&
    !(chars.length === 2 && chars.every(Number.isInteger) && chars[0] >= 1 && chars[1] >= chars[0])
  ) {
    throw new Error(
      `--char-ngrams must be MIN,MAX with 1 <= MIN <= MAX, or 0,0 for none; got '${opts['char-ngrams']}'`,
    );
  }
  return {
    kind,
    buckets: int('buckets') ?? d.buckets,
    dim: int('dim') ?? d.dim,
    wordNgrams: int('word-ngrams') ?? d.wordNgrams,
    charNgrams: chars ? [chars[0], chars[1]] : d.charNgrams,
    maxLength: int('max-length') ?? d.maxLength,
  };
}
