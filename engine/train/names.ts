// Value names of the compiled training graphs. The host feeds each `next:X` output back as input `X` on the
// following step, so naming is the whole protocol between the graphs and the trainer.
export const TARGETS = 'targets';
export const STEP = 'step';
export const LR = 'lr';
export const LOSS = 'loss';
/** Mixed precision only: the factor the loss is multiplied by before the backward pass (dynamic loss scaling). */
export const LOSS_SCALE = 'loss_scale';
/** Mixed precision only: a bool scalar, false when a gradient overflowed (the update must then be skipped). */
export const GRADS_FINITE = 'grads_finite';
/** The trainable parameters packed into one flat vector (packed.ts); optimiser slots and gradient sums follow it. */
export const PARAMS = 'params';

/** The output that carries the new value of input `name`. */
export const next = (name: string) => `next:${name}`;
/** The input holding optimiser slot `slot` (e.g. 'm') of parameter `param`. */
export const slotOf = (slot: string, param: string) => `${slot}:${param}`;
/** The input holding the sum of the gradients of `param` over the micro-batches so far (accumulation). */
export const gradSumOf = (param: string) => `grad_sum:${param}`;
