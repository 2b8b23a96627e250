// Initial weights for the text builders, drawn from the engine's seeded RNG so a seed fixes a model exactly.
import type { Rng } from '../data/index.ts';
import { tensor, type TensorData } from '../ir/index.ts';

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

/** A MatMul weight [in, out] and zero bias, uniform ±1/sqrt(in) as torch.nn.Linear's default. */
export function matmulInit(rng: Rng, fanIn: number, fanOut: number): { weight: TensorData; bias: TensorData } {
  return { weight: uniform(rng, [fanIn, fanOut], 1 / Math.sqrt(fanIn)), bias: filled([fanOut], 0) };
}
