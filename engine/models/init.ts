// Initial weights for the model builders, drawn from the engine's seeded RNG so a seed fixes a model exactly.
import { Rng } from '../data/index.ts';
import { tensor } from '../ir/tensor.ts';
import type { TensorData } from '../ir/types.ts';

/** Uniform on (-bound, bound). */
export function uniform(rng: Rng, dims: number[], bound: number): TensorData {
  const data = new Float32Array(dims.reduce((n, d) => n * d, 1));
  for (let i = 0; i < data.length; i++) data[i] = (rng.nextFloat() * 2 - 1) * bound;
  return tensor('float32', dims, data);
}

export function filled(dims: number[], value: number): TensorData {
  return tensor('float32', dims, new Float32Array(dims.reduce((n, d) => n * d, 1)).fill(value));
}

/** Embedding rows with standard deviation 0.02 (BERT's), uniform so they stay bounded. */
export const embeddingInit = (rng: Rng, rows: number, width: number) =>
  uniform(rng, [rows, width], 0.02 * Math.sqrt(3));

/**
 * A linear layer initialised as torch.nn.Linear's default (kaiming_uniform_ with a = sqrt(5) for the weight): weight
 * and bias uniform on ±1/sqrt(fan_in), so a model here starts where the same layers start in PyTorch. The weight is
 * [in, out] for a MatMul, or [out, in] (torch's own layout) for a Gemm with transB = 1.
 */
export function linearInit(
  rng: Rng,
  fanIn: number,
  fanOut: number,
  layout: 'in-out' | 'out-in' = 'in-out',
): { weight: TensorData; bias: TensorData } {
  const bound = 1 / Math.sqrt(fanIn);
  const dims = layout === 'in-out' ? [fanIn, fanOut] : [fanOut, fanIn];
  return { weight: uniform(rng, dims, bound), bias: uniform(rng, [fanOut], bound) };
}

/**
 * A fastText's initial weights, drawn from its seed: the embedding table [buckets, dim], then the head's weight
 * [dim, classes] and bias. The host-side quick fastText (engine/train/quick-fasttext.ts) starts from them too.
 */
export function fastTextInit(spec: { buckets: number; dim: number; classes: number; seed: number }) {
  const rng = Rng.fromSeed(spec.seed);
  const table = embeddingInit(rng, spec.buckets, spec.dim);
  return { table, ...linearInit(rng, spec.dim, spec.classes) };
}
