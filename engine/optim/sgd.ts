import { scalar, type GraphBuilder } from '../ir/index.ts';
import type { Optimizer, UpdateScalars } from './optimizer.ts';

export interface SgdConfig {
  momentum?: number;
  weightDecay?: number;
}

/**
 * SGD with momentum as PyTorch implements it (no dampening; weight decay added to the gradient):
 *   g ← g + wd·p;  buf ← μ·buf + g;  p ← p - lr·buf
 * With momentum 0 there is no state to carry.
 */
export function sgd(config: SgdConfig = {}): Optimizer {
  const { momentum = 0.9, weightDecay = 0 } = config;
  return {
    slots: momentum > 0 ? ['momentum'] : [],
    updater(b: GraphBuilder, { lr }: UpdateScalars) {
      const f = (v: number) => b.constant(scalar('float32', v));
      const wd = weightDecay > 0 ? f(weightDecay) : undefined;
      const mu = momentum > 0 ? f(momentum) : undefined;
      return (param, grad, state) => {
        const g = wd ? b.op('Add', [grad, b.op('Mul', [param, wd])]) : grad;
        const direction = mu ? b.op('Add', [b.op('Mul', [state[0], mu]), g], {}, 'sgd_momentum') : g;
        const p2 = b.op('Sub', [param, b.op('Mul', [direction, lr])], {}, 'sgd_param');
        return { param: p2, state: mu ? [direction] : [] };
      };
    },
  };
}
