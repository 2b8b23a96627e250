// The `ratchet train` flags that size a text model trained from scratch (--arch encoder|fasttext): each sets a
// field of the job spec's `training.text` (core/jobs/spec.ts).
import { DEFAULT_ARCH } from '../../engine/models/text.ts';
import { fieldFlags } from './spec-flags.ts';

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

export const TEXT_ARCH_FLAGS = fieldFlags('text.', {
  'max-length': 'int',
  windows: 'int',
  'vocab-size': 'int',
  'd-model': 'int',
  heads: 'int',
  layers: 'int',
  ffn: 'int',
  pooling: 'string',
  buckets: 'int',
  dim: 'int',
  'word-ngrams': 'int',
  'char-ngrams': 'pair',
});
