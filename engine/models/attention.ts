// The pieces of a Transformer encoder that the in-house encoder and imported BERT models share: the padding bias,
// multi-head scaled dot-product attention and pooling over the tokens (mean or [CLS]), on [batch, L, d] activations.
//
// Layout choices for speed: attention is two batched MatMuls on [batch, H, L, dh] with K transposed straight to
// [batch, H, dh, L]; the 1/sqrt(dh) scale multiplies the scores' MatMul, where ORT folds it into the product (a
// FusedMatMul's alpha), and its gradient into the two products of the backward pass, so neither direction spends a
// pass on it; the padding bias is built once per forward pass and shared by all layers.
import { GraphBuilder, int64s, scalar } from '../ir/index.ts';

/** Large enough that exp() of a masked score is 0 in float32, small enough to stay finite when added. */
const MASKED = -1e9;

/** 0 on tokens, MASKED on padding, [batch, 1, 1, L] from `mask` [batch, L] (1 = token): added to every score. */
export function keyBias(b: GraphBuilder, mask: string): string {
  const notToken = b.op('Sub', [b.constant(scalar('float32', 1), 'one'), mask]);
  const bias = b.op('Mul', [notToken, b.constant(scalar('float32', MASKED), 'masked')]);
  return b.op('Unsqueeze', [bias, b.constant(int64s([1, 2]), 'axes')], {}, 'key_bias');
}

/**
 * Multi-head attention of projections made by `project(role, x)` ([batch, L, d] each), returning the heads' context
 * merged back to [batch, L, d] (before the output projection). `dropProbs` may drop attention probabilities out.
 */
export function selfAttention(
  b: GraphBuilder,
  x: string,
  bias: string,
  dims: { d: number; heads: number },
  project: (role: 'q' | 'k' | 'v', x: string) => string,
  dropProbs: (probs: string) => string = (probs) => probs,
): string {
  const { d, heads: H } = dims;
  const dh = d / H;
  const c = b.constant.bind(b);
  const heads = c(int64s([0, 0, H, dh]), 'heads_shape');
  const split = (v: string, perm: number[]) => b.op('Transpose', [b.op('Reshape', [v, heads])], { perm });
  const scale = c(scalar('float32', 1 / Math.sqrt(dh)), 'scale');
  const q = split(project('q', x), [0, 2, 1, 3]); // [batch, H, L, dh]
  const kT = split(project('k', x), [0, 2, 3, 1]); // [batch, H, dh, L]
  const v = split(project('v', x), [0, 2, 1, 3]);
  const scaled = b.op('Mul', [b.op('MatMul', [q, kT]), scale]);
  const scores = b.op('Add', [scaled, bias], {}, 'scores');
  const attn = dropProbs(b.op('Softmax', [scores], { axis: -1 }, 'attention'));
  const merged = c(int64s([0, 0, d]), 'merged_shape');
  return b.op('Reshape', [b.op('Transpose', [b.op('MatMul', [attn, v])], { perm: [0, 2, 1, 3] }), merged]);
}

/** The mean of `x` [batch, L, d] over the tokens `mask` [batch, L] marks, as one batched MatMul: [batch, d]. */
export function meanPool(b: GraphBuilder, x: string, mask: string, d: number): string {
  const c = b.constant.bind(b);
  const count = b.op('ReduceSum', [mask, c(int64s([1]), 'axis1')], { keepdims: 1 }, 'token_count');
  const weights = b.op('Unsqueeze', [b.op('Div', [mask, count]), c(int64s([1]), 'axis1')], {}, 'pool_weights');
  return b.op('Reshape', [b.op('MatMul', [weights, x]), c(int64s([0, d]), 'pooled_shape')], {}, 'pooled');
}

/** One row per text, [batch, d], from `x` [batch, L, d]: the mean over the tokens, or the first ([CLS]) token. */
export function pool(b: GraphBuilder, x: string, mask: string, d: number, mode: 'mean' | 'cls'): string {
  if (mode === 'mean') return meanPool(b, x, mask, d);
  return b.op('Gather', [x, b.constant(scalar('int64', 0), 'cls_index')], { axis: 1 }, 'pooled');
}
