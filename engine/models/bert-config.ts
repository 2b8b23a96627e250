// A Hugging Face BERT config.json, read into the sizes the graph builder needs. Every field that would change the
// computation is checked: a value the builder cannot honour is an error naming the field, never a different model.
import { InvalidInput } from '../invalid-input.ts';

/** The activations HF names in `hidden_act` that map onto ONNX Gelu or Relu. */
const ACTIVATIONS = { gelu: 'gelu', gelu_new: 'gelu-tanh', gelu_pytorch_tanh: 'gelu-tanh', relu: 'relu' } as const;

export interface BertConfig {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  activation: (typeof ACTIVATIONS)[keyof typeof ACTIVATIONS];
  layerNormEps: number;
  maxPositions: number;
  typeVocab: number;
  /** Dropout rates as the config gives them, for fine-tuning (inference ignores them). */
  hiddenDropout: number;
  attentionDropout: number;
}

export function parseBertConfig(json: unknown, source: string): BertConfig {
  const fail = (field: string, problem: string) => new InvalidInput(`${source}: ${field} ${problem}`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('config', 'must be a JSON object');
  const c = json as Record<string, unknown>;
  if (c.model_type !== 'bert') {
    throw fail('model_type', `is ${JSON.stringify(c.model_type ?? null)}; only "bert" (BertModel) can be imported`);
  }
  const positive = (field: string) => {
    const v = c[field];
    if (!Number.isInteger(v) || (v as number) < 1) throw fail(field, `must be a positive integer, got ${v}`);
    return v as number;
  };
  const rate = (field: string) => {
    const v = c[field] ?? 0;
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw fail(field, `must be in [0, 1), got ${v}`);
    return v;
  };
  const act = c.hidden_act;
  if (typeof act !== 'string' || !(act in ACTIVATIONS)) {
    throw fail('hidden_act', `is ${JSON.stringify(act)}; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  }
  const position = c.position_embedding_type ?? 'absolute';
  if (position !== 'absolute') throw fail('position_embedding_type', `is ${JSON.stringify(position)}; only "absolute"`);
  for (const flag of ['is_decoder', 'add_cross_attention'] as const) {
    if (c[flag] === true) throw fail(flag, 'is true; only an encoder can be imported');
  }
  const eps = c.layer_norm_eps ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0)) throw fail('layer_norm_eps', `must be a positive number, got ${eps}`);
  const config: BertConfig = {
    vocab: positive('vocab_size'),
    hidden: positive('hidden_size'),
    layers: positive('num_hidden_layers'),
    heads: positive('num_attention_heads'),
    intermediate: positive('intermediate_size'),
    activation: ACTIVATIONS[act as keyof typeof ACTIVATIONS],
    layerNormEps: eps,
    maxPositions: positive('max_position_embeddings'),
    typeVocab: positive('type_vocab_size'),
    hiddenDropout: rate('hidden_dropout_prob'),
    attentionDropout: rate('attention_probs_dropout_prob'),
  };
  if (config.hidden % config.heads !== 0) {
    throw fail('num_attention_heads', `(${config.heads}) must divide hidden_size (${config.hidden})`);
  }
  return config;
}
