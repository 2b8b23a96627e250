// A small Transformer text classifier: token + position embeddings, pre-LN blocks of multi-head self-attention
// (padding masked) and a Gelu FFN, a final LayerNorm, mean or [CLS] pooling and a linear head.
//
// Layout choices for speed: activations stay [batch, L, d] and every projection is one MatMul with a [in, out]
// weight (ORT runs it as a single GEMM over batch*L rows); attention and pooling are attention.ts's.
import { Rng } from '../data/index.ts';
import { GraphBuilder, createModel, emptyGraph, float, int64s, type Model, type TensorData } from '../ir/index.ts';
import { ATTENTION_MASK, INPUT_IDS } from '../text/encode.ts';
import { keyBias as paddingBias, pool, selfAttention } from './attention.ts';
import { embeddingInit, filled, linearInit } from './init.ts';
import { LOGITS } from './layout.ts';

export interface EncoderSpec {
  /** Token ids are in [0, vocab). */
  vocab: number;
  /** Tokens per text, or per window (the tokeniser pads and truncates to this). */
  maxLength: number;
  /**
   * Windows of `maxLength` tokens per text (default 1): the inputs are [batch, windows · maxLength], each window
   * attends within itself, and pooling runs over the tokens of all windows.
   */
  windows?: number;
  dModel: number;
  heads: number;
  layers: number;
  /** Width of each block's hidden FFN layer. */
  ffn: number;
  classes: number;
  /** 'mean' over non-padding tokens, or the first ([CLS]) token. */
  pooling: 'mean' | 'cls';
  seed: number;
}

/** Supplies the value of a named parameter, created from `initial` (an initializer) or looked up (a test input). */
export type ParamSource = (name: string, initial: TensorData) => string;

function checkEncoderSpec(spec: EncoderSpec): void {
  for (const key of ['vocab', 'maxLength', 'windows', 'dModel', 'heads', 'layers', 'ffn', 'classes'] as const) {
    if (key === 'windows' && spec[key] === undefined) continue;
    if (!Number.isInteger(spec[key]) || spec[key]! < 1) {
      throw new Error(`encoder ${key} must be a positive integer, got ${spec[key]}`);
    }
  }
  if (spec.dModel % spec.heads !== 0) {
    throw new Error(`encoder d_model ${spec.dModel} is not divisible by ${spec.heads} heads`);
  }
  if (spec.pooling !== 'mean' && spec.pooling !== 'cls') {
    throw new Error(`encoder pooling must be mean or cls, got '${spec.pooling}'`);
  }
}

/**
 * Appends the encoder's forward pass from `ids` [batch, L] (int64) and `mask` [batch, L] (float32, 1 = token)
 * and returns the logits value. Parameters come from `param`, so the same graph serves training and gradient checks.
 */
export function encoderForward(
  b: GraphBuilder,
  spec: EncoderSpec,
  textIds: string,
  textMask: string,
  param: ParamSource,
): string {
  checkEncoderSpec(spec);
  const { vocab, maxLength: L, dModel: d, heads: H, ffn, classes } = spec;
  const rng = Rng.fromSeed(spec.seed);
  const c = (t: TensorData, hint: string) => b.constant(t, hint);
  // Windows are rows of their own through the blocks ([batch · windows, L]), so attention stays within a window.
  const windowed = (spec.windows ?? 1) > 1;
  const rows = (v: string, hint: string) =>
    windowed ? b.op('Reshape', [v, c(int64s([-1, L]), 'window_shape')], {}, hint) : v;
  const ids = rows(textIds, 'window_ids');
  const keyMask = rows(textMask, 'window_mask');
  const linear = (name: string, x: string, fanIn: number, fanOut: number, hint: string) => {
    const { weight, bias } = linearInit(rng, fanIn, fanOut);
    const y = b.op('MatMul', [x, param(`${name}.weight`, weight)], {}, `${hint}_matmul`);
    return b.op('Add', [y, param(`${name}.bias`, bias)], {}, hint);
  };
  const layerNorm = (name: string, x: string) =>
    b.op(
      'LayerNormalization',
      [x, param(`${name}.weight`, filled([d], 1)), param(`${name}.bias`, filled([d], 0))],
      { axis: -1, epsilon: float(1e-5) },
      `${name}_out`,
    );

  const tokens = b.op('Gather', [param('embeddings.token', embeddingInit(rng, vocab, d)), ids], {}, 'token_embedding');
  let x = b.op('Add', [tokens, param('embeddings.position', embeddingInit(rng, L, d))], {}, 'embedded');
  const keyBias = paddingBias(b, keyMask);
  for (let i = 0; i < spec.layers; i++) {
    const p = `blocks.${i}`;
    const context = selfAttention(b, layerNorm(`${p}.ln1`, x), keyBias, { d, heads: H }, (role, h) =>
      linear(`${p}.attn.${role}`, h, d, d, role),
    );
    x = b.op('Add', [x, linear(`${p}.attn.out`, context, d, d, 'attn_out')], {}, 'residual');
    const up = b.op('Gelu', [linear(`${p}.ffn.up`, layerNorm(`${p}.ln2`, x), d, ffn, 'ffn_up')], {}, 'gelu');
    x = b.op('Add', [x, linear(`${p}.ffn.down`, up, ffn, d, 'ffn_down')], {}, 'residual');
  }
  x = layerNorm('norm', x);
  // Back to one row per text, [batch, windows · L, d], so pooling reads the tokens of all its windows.
  if (windowed) x = b.op('Reshape', [x, c(int64s([-1, spec.windows! * L, d]), 'text_shape')], {}, 'text_tokens');

  return linear('head', pool(b, x, textMask, d, spec.pooling), d, classes, LOGITS);
}

/** The encoder as a classifier model: `input_ids`, `attention_mask` → `logits`. */
export function buildEncoder(spec: EncoderSpec): Model {
  const b = new GraphBuilder(emptyGraph('encoder'));
  const width = spec.maxLength * (spec.windows ?? 1);
  const ids = b.input(INPUT_IDS, 'int64', ['batch', width]);
  const mask = b.input(ATTENTION_MASK, 'float32', ['batch', width]);
  encoderForward(b, spec, ids, mask, (name, initial) => b.initializer(name, initial));
  b.output(LOGITS, 'float32', ['batch', spec.classes]);
  return createModel(b.graph);
}
