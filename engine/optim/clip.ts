import { scalar, type GraphBuilder } from '../ir/index.ts';

/**
 * Scales every gradient by min(1, maxNorm / ‖g‖) where ‖g‖ is the L2 norm over all of them together, as
 * torch.nn.utils.clip_grad_norm_ does (with its 1e-6 guard against a zero norm).
 */
export function clipByGlobalNorm(b: GraphBuilder, grads: string[], maxNorm: number): string[] {
  if (!(maxNorm > 0)) throw new Error(`gradient clipping norm must be > 0, got ${maxNorm}`);
  const squares = grads.map((g) => b.op('ReduceSum', [b.op('Mul', [g, g])], { keepdims: 0 }));
  const total = squares.length === 1 ? squares[0] : b.op('Sum', squares);
  const norm = b.op('Sqrt', [total], {}, 'grad_norm');
  const f = (v: number) => b.constant(scalar('float32', v));
  const ratio = b.op('Div', [f(maxNorm), b.op('Add', [norm, f(1e-6)])]);
  const factor = b.op('Min', [ratio, f(1)], {}, 'clip_factor');
  return grads.map((g) => b.op('Mul', [g, factor], {}, 'clipped_grad'));
}
