import { scalar, type GraphBuilder } from '../ir/index.ts';
import type { Optimizer, UpdateScalars } from './optimizer.ts';

export interface AdamWConfig {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/**
 * AdamW (Loshchilov & Hutter) as PyTorch implements it: bias-corrected moments and decoupled weight decay,
 *   p ← p·(1 - lr·wd) - lr/(1-β1^t) · m / (sqrt(v/(1-β2^t)) + eps)
 */
export function adamw(config: AdamWConfig = {}): Optimizer {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01 } = config;
  return {
    slots: ['m', 'v'],
    updater(b: GraphBuilder, { step, lr }: UpdateScalars) {
      const f = (v: number) => b.constant(scalar('float32', v));
      const one = f(1);
      // Scalars shared by every parameter. With s = sqrt(1-β2^t) the update is rewritten as
      // lr·s/(1-β1^t) · m / (sqrt(v) + eps·s): the same value with one element-wise op fewer per parameter.
      const correction1 = b.op('Sub', [one, b.op('Pow', [f(beta1), step])]);
      const rootCorrection2 = b.op('Sqrt', [b.op('Sub', [one, b.op('Pow', [f(beta2), step])])]);
      const stepSize = b.op('Div', [b.op('Mul', [lr, rootCorrection2]), correction1], {}, 'adamw_step_size');
      const epsilon = b.op('Mul', [f(eps), rootCorrection2], {}, 'adamw_eps');
      const decay = weightDecay === 0 ? '' : b.op('Sub', [one, b.op('Mul', [lr, f(weightDecay)])], {}, 'adamw_decay');
      const [b1, b2, c1, c2] = [beta1, beta2, 1 - beta1, 1 - beta2].map(f);
      return (param, grad, [m, v]) => {
        const m2 = b.op('Add', [b.op('Mul', [m, b1]), b.op('Mul', [grad, c1])], {}, 'adamw_m');
        const v2 = b.op('Add', [b.op('Mul', [v, b2]), b.op('Mul', [b.op('Mul', [grad, grad]), c2])], {}, 'adamw_v');
        const denom = b.op('Add', [b.op('Sqrt', [v2]), epsilon]);
        const delta = b.op('Mul', [b.op('Div', [m2, denom]), stepSize]);
        // Without weight decay the factor is exactly 1: one pass over the parameter fewer, the same bits.
        const decayed = weightDecay === 0 ? param : b.op('Mul', [param, decay]);
        const p2 = b.op('Sub', [decayed, delta], {}, 'adamw_param');
        return { param: p2, state: [m2, v2] };
      };
    },
  };
}
