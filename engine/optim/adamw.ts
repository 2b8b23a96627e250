import type { GraphBuilder } from '../ir/builder.ts';
import { RATCHET_DOMAIN } from '../ir/domains.ts';
import { scalar } from '../ir/tensor.ts';
import type { Optimizer, UpdateScalars } from './optimizer.ts';

/** The moments' discounted sums (see adamw); checkpoints of an earlier layout kept m and v themselves. */
const ADAMW_SLOTS = ['m_sum', 'v_sum'];

export interface AdamWConfig {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/**
 * AdamW (Loshchilov & Hutter) as PyTorch implements it: bias-corrected moments and decoupled weight decay,
 *   p ← p·(1 - lr·wd) - lr/(1-β1^t) · m / (sqrt(v/(1-β2^t)) + eps)
 * The slots keep the moments' discounted sums, M = m/(1-β1) and V = v/(1-β2): M ← β1·M + g, V ← β2·V + g², one
 * multiply fewer each than m ← β1·m + (1-β1)·g, and the two factors fold into the update's scalars (below).
 */
/** torch.optim.AdamW's defaults. */
export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } as const;

export function adamw(config: AdamWConfig = {}): Optimizer {
  const {
    beta1 = ADAMW_DEFAULTS.beta1,
    beta2 = ADAMW_DEFAULTS.beta2,
    eps = ADAMW_DEFAULTS.eps,
    weightDecay = ADAMW_DEFAULTS.weightDecay,
  } = config;
  return {
    slots: ADAMW_SLOTS,
    earlierSlots: { m_sum: { slot: 'm', factor: 1 / (1 - beta1) }, v_sum: { slot: 'v', factor: 1 / (1 - beta2) } },
    updater(b: GraphBuilder, { step, lr, ownKernels }: UpdateScalars) {
      const f = (v: number) => b.constant(scalar('float32', v));
      const one = f(1);
      // Scalars shared by every parameter. With s = sqrt((1-β2^t)/(1-β2)), m = (1-β1)·M and v = (1-β2)·V the update
      // is lr·(1-β1)·s/(1-β1^t) · M / (sqrt(V) + eps·s): the same value with no per-element multiply inside.
      const correction1 = b.op('Sub', [one, b.op('Pow', [f(beta1), step])]);
      const root = b.op('Sqrt', [b.op('Div', [b.op('Sub', [one, b.op('Pow', [f(beta2), step])]), f(1 - beta2)])]);
      const stepSize = b.op(
        'Div',
        [b.op('Mul', [lr, b.op('Mul', [root, f(1 - beta1)])]), correction1],
        {},
        'adamw_step_size',
      );
      const epsilon = b.op('Mul', [f(eps), root], {}, 'adamw_eps');
      const decay = weightDecay === 0 ? '' : b.op('Sub', [one, b.op('Mul', [lr, f(weightDecay)])], {}, 'adamw_decay');
      const [b1, b2] = [beta1, beta2].map(f);
      if (ownKernels) {
        // The chain below in one pass over memory (kernels.c's AdamW); a decay of exactly 1 leaves every bit as is.
        const scalars = [b1, b2, stepSize, epsilon, decay || one];
        return (param, grad, [m, v]) => {
          const [p2, m2, v2] = b.domainOp(RATCHET_DOMAIN, 'AdamW', [param, grad, m, v, ...scalars], 3, {}, 'adamw');
          return { param: p2, state: [m2, v2] };
        };
      }
      return (param, grad, [m, v]) => {
        const m2 = b.op('Add', [b.op('Mul', [m, b1]), grad], {}, 'adamw_m');
        const v2 = b.op('Add', [b.op('Mul', [v, b2]), b.op('Mul', [grad, grad])], {}, 'adamw_v');
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
