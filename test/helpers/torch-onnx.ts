// Matching a torch.onnx.export model's initializers to the torch parameters a fixture records (test/fixtures/onnx/),
// and comparing numbers at a relative tolerance, for the tests that hold Ratchet's gradients to torch's.
import { toNumbers, type TensorData } from '../../engine/ir/index.ts';

export type TorchParams = Record<string, { dims: number[]; data: number[] }>;

export function transpose2d(data: number[], [rows, cols]: number[]): number[] {
  return Array.from({ length: rows * cols }, (_, i) => data[(i % rows) * cols + Math.floor(i / rows)]);
}

export const close = (a: number[], b: number[], tol: number) =>
  a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])));

/**
 * The torch parameters an initializer holds: those with the same values, or (for Linear weights the exporter
 * pre-transposes into MatMul operands, named onnx::MatMul_N) the transposed values. The exporter also merges
 * parameters of equal value into one initializer (LayerNorms start as ones and zeros), whose gradient is the sum.
 */
export function torchParamsOf(t: TensorData, params: TorchParams): { names: string[]; transposed: boolean } {
  // Fixtures may print float32 values to 9 significant digits: round them back to float32 to compare exactly.
  const values = toNumbers(t);
  const f32 = (data: number[]) => data.map(Math.fround);
  const same = (dims: number[]) => t.dims.join() === dims.join();
  const direct = Object.entries(params).filter(([, p]) => same(p.dims) && close(values, f32(p.data), 0));
  const transposed = Object.entries(params).filter(
    ([, p]) => p.dims.length === 2 && same([...p.dims].reverse()) && close(values, f32(transpose2d(p.data, p.dims)), 0),
  );
  return direct.length
    ? { names: direct.map(([n]) => n), transposed: false }
    : { names: transposed.map(([n]) => n), transposed: true };
}

/** The initializers of `initializers` that hold torch parameters, each with the parameters it holds. */
export function matchTorchParams(initializers: Map<string, TensorData>, params: TorchParams) {
  return [...initializers]
    .filter(([, t]) => t.dtype === 'float32')
    .map(([init, t]) => ({ init, ...torchParamsOf(t, params) }))
    .filter((m) => m.names.length > 0); // the rest are the exporter's constants (scales, epsilons)
}

/** torch's gradient for a matched initializer, in the initializer's layout (summed over merged parameters). */
export function torchGradientOf(
  m: { names: string[]; transposed: boolean },
  params: TorchParams,
  grads: Record<string, number[]>,
  length: number,
): number[] {
  return Array.from({ length }, (_, i) =>
    m.names.reduce((sum, n) => {
      const g = m.transposed ? transpose2d(grads[n], params[n].dims) : grads[n];
      return sum + g[i];
    }, 0),
  );
}
