// A pretrained BERT (Hugging Face BertModel) as the engine's own graph, so it trains like any model built here:
// word + position + token-type embeddings and LayerNorm, then post-LN blocks (attention, add, LayerNorm; FFN, add,
// LayerNorm), then the sentence-transformers pooling (mean or [CLS]) and optional L2 normalisation.
//
// Initializers keep Hugging Face's names; linear weights are stored transposed, [in, out], so each projection is
// one MatMul over batch·L rows (see encoder.ts). The length axis is symbolic: positions are a Range over it.
import {
  GraphBuilder,
  createModel,
  emptyGraph,
  float,
  int64s,
  scalar,
  tensor,
  type Model,
  type TensorData,
} from '../ir/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import { ATTENTION_MASK, INPUT_IDS } from '../text/encode.ts';
import { keyBias, pool, selfAttention } from './attention.ts';
import type { BertConfig } from './bert-config.ts';

export interface BertPooling {
  mode: 'mean' | 'cls';
  /** Divide by the L2 norm (sentence-transformers' Normalize module). */
  normalize: boolean;
}

export const EMBEDDINGS = 'embeddings';

const ROLES = { q: 'attention.self.query', k: 'attention.self.key', v: 'attention.self.value' } as const;

/** Every parameter BertModel's forward pass reads, by Hugging Face name, with its shape in torch's layout. */
export function bertParameterShapes(config: BertConfig): Map<string, { dims: number[]; linear: boolean }> {
  const { hidden: d, intermediate: ffn } = config;
  const shapes = new Map<string, { dims: number[]; linear: boolean }>();
  const vector = (name: string, n = d) => shapes.set(name, { dims: [n], linear: false });
  const layerNorm = (p: string) => (vector(`${p}.weight`), vector(`${p}.bias`));
  const linear = (p: string, out: number, inputs: number) => {
    shapes.set(`${p}.weight`, { dims: [out, inputs], linear: true });
    vector(`${p}.bias`, out);
  };
  shapes.set('embeddings.word_embeddings.weight', { dims: [config.vocab, d], linear: false });
  shapes.set('embeddings.position_embeddings.weight', { dims: [config.maxPositions, d], linear: false });
  shapes.set('embeddings.token_type_embeddings.weight', { dims: [config.typeVocab, d], linear: false });
  layerNorm('embeddings.LayerNorm');
  for (let i = 0; i < config.layers; i++) {
    const p = `encoder.layer.${i}`;
    for (const role of Object.values(ROLES)) linear(`${p}.${role}`, d, d);
    linear(`${p}.attention.output.dense`, d, d);
    layerNorm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, ffn, d);
    linear(`${p}.output.dense`, d, ffn);
    layerNorm(`${p}.output.LayerNorm`);
  }
  return shapes;
}

/**
 * The graph's weights from a checkpoint's tensors (a `bert.` prefix, as task heads save them, is dropped): each one
 * the forward pass reads must be there as float32 with its shape; linear weights are transposed to [in, out].
 * Tensors the forward pass does not read (the pooler, position_ids buffers) are left out.
 */
export function bertWeights(
  config: BertConfig,
  tensors: Map<string, TensorData>,
  source: string,
): Map<string, TensorData> {
  const byName = new Map([...tensors].map(([name, t]) => [name.replace(/^bert\./, ''), t]));
  const weights = new Map<string, TensorData>();
  for (const [name, { dims, linear }] of bertParameterShapes(config)) {
    const t = byName.get(name);
    if (!t) throw new InvalidInput(`${source}: weight '${name}' is missing`);
    if (t.dtype !== 'float32' || t.dims.join() !== dims.join()) {
      throw new InvalidInput(
        `${source}: weight '${name}' is ${t.dtype} [${t.dims}], the config needs float32 [${dims}]`,
      );
    }
    weights.set(name, linear ? transpose(t) : t);
  }
  return weights;
}

/** A [rows, cols] float32 matrix as [cols, rows]. */
export function transpose(t: TensorData): TensorData {
  const [rows, cols] = t.dims;
  const from = t.data as Float32Array;
  const out = new Float32Array(from.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = from[r * cols + c];
  return tensor('float32', [cols, rows], out);
}

/**
 * A Dropout node at `rate` (none at 0): the identity in inference, active in training where the model's metadata
 * says so (engine/train/dropout.ts).
 */
export function dropout(b: GraphBuilder, x: string, rate: number): string {
  return rate > 0 ? b.op('Dropout', [x, b.constant(scalar('float32', rate), 'dropout_ratio')], {}, 'dropped') : x;
}

/**
 * Appends BertModel's forward pass from `ids` [batch, L] (int64) and `mask` [batch, L] (float32, 1 = token), every
 * text one segment (token type 0), and returns the last hidden states [batch, L, hidden]. `param` gives a weight's
 * value by Hugging Face name. With `dropout`, Dropout nodes stand where BertModel applies the config's rates.
 */
export function bertForward(
  b: GraphBuilder,
  config: BertConfig,
  ids: string,
  mask: string,
  param: (name: string) => string,
  withDropout = false,
): string {
  const { hidden: d, heads, layerNormEps } = config;
  const c = b.constant.bind(b);
  const hiddenDrop = (x: string) => dropout(b, x, withDropout ? config.hiddenDropout : 0);
  const probsDrop = (x: string) => dropout(b, x, withDropout ? config.attentionDropout : 0);
  const linear = (name: string, x: string, hint: string) =>
    b.op('Add', [b.op('MatMul', [x, param(`${name}.weight`)], {}, `${hint}_matmul`), param(`${name}.bias`)], {}, hint);
  const layerNorm = (name: string, x: string) =>
    b.op('LayerNormalization', [x, param(`${name}.weight`), param(`${name}.bias`)], {
      axis: -1,
      epsilon: float(layerNormEps),
    });

  const length = b.op('Gather', [b.op('Shape', [ids]), c(scalar('int64', 1), 'length_axis')], {}, 'length');
  const positions = b.op('Range', [c(scalar('int64', 0), 'zero'), length, c(scalar('int64', 1), 'position_step')]);
  const words = b.op('Gather', [param('embeddings.word_embeddings.weight'), ids], {}, 'word_embedding');
  const position = b.op(
    'Gather',
    [param('embeddings.position_embeddings.weight'), positions],
    {},
    'position_embedding',
  );
  const segment = b.op('Gather', [param('embeddings.token_type_embeddings.weight'), c(int64s([0]), 'segment')]);
  const summed = b.op('Add', [b.op('Add', [words, position]), segment], {}, 'embedded');
  let x = hiddenDrop(layerNorm('embeddings.LayerNorm', summed));

  const bias = keyBias(b, mask);
  const act = config.activation;
  for (let i = 0; i < config.layers; i++) {
    const p = `encoder.layer.${i}`;
    const project = (role: keyof typeof ROLES, h: string) => linear(`${p}.${ROLES[role]}`, h, role);
    const context = selfAttention(b, x, bias, { d, heads }, project, probsDrop);
    const projected = hiddenDrop(linear(`${p}.attention.output.dense`, context, 'attn_out'));
    const attended = b.op('Add', [projected, x], {}, 'residual');
    x = layerNorm(`${p}.attention.output.LayerNorm`, attended);
    const up = linear(`${p}.intermediate.dense`, x, 'ffn_up');
    const activated =
      act === 'relu'
        ? b.op('Relu', [up])
        : b.op('Gelu', [up], act === 'gelu-tanh' ? { approximate: 'tanh' } : {}, 'gelu');
    const out = b.op('Add', [hiddenDrop(linear(`${p}.output.dense`, activated, 'ffn_down')), x], {}, 'residual');
    x = layerNorm(`${p}.output.LayerNorm`, out);
  }
  return x;
}

/** Pools hidden states [batch, L, d] to one row per text, [batch, d], as the model's pooling config says. */
export function bertPool(b: GraphBuilder, hidden: string, mask: string, d: number, pooling: BertPooling): string {
  const pooled = pool(b, hidden, mask, d, pooling.mode);
  if (!pooling.normalize) return pooled;
  // x / max(‖x‖, 1e-12), as torch.nn.functional.normalize computes it.
  const squares = b.op('ReduceSum', [b.op('Mul', [pooled, pooled]), b.constant(int64s([1]), 'axis1')], {
    keepdims: 1,
  });
  const norm = b.op('Max', [b.op('Sqrt', [squares]), b.constant(scalar('float32', 1e-12), 'norm_floor')]);
  return b.op('Div', [pooled, norm], {}, 'normalized');
}

/**
 * The sentence embedder: `input_ids`, `attention_mask` [batch, length] → `embeddings` [batch, hidden]. With
 * `withDropout`, Dropout nodes stand where BertModel has them and on the embedding, where
 * BertForSequenceClassification drops its pooled output out before the classifier.
 */
export function buildBertEmbedder(
  config: BertConfig,
  weights: Map<string, TensorData>,
  pooling: BertPooling,
  withDropout = false,
): Model {
  const b = new GraphBuilder(emptyGraph('bert'));
  const ids = b.input(INPUT_IDS, 'int64', ['batch', 'length']);
  const mask = b.input(ATTENTION_MASK, 'float32', ['batch', 'length']);
  const param = (name: string) => (b.graph.initializers.has(name) ? name : b.initializer(name, weights.get(name)!));
  const hidden = bertForward(b, config, ids, mask, param, withDropout);
  const pooled = bertPool(b, hidden, mask, config.hidden, pooling);
  b.op('Identity', [dropout(b, pooled, withDropout ? config.hiddenDropout : 0)], {}, EMBEDDINGS);
  b.output(EMBEDDINGS, 'float32', ['batch', config.hidden]);
  return createModel(b.graph);
}
