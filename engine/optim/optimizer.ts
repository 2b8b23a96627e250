import type { GraphBuilder } from '../ir/index.ts';

/** The scalar graph inputs every update reads: `step` counts updates from 1 (for bias correction). */
export interface UpdateScalars {
  step: string;
  lr: string;
  /**
   * Whether the update may use the engine's own kernels (RATCHET_DOMAIN), which only the native runner's CPU
   * sessions have: the same values, bit for bit, in fewer passes over memory.
   */
  ownKernels?: boolean;
}

export interface ParamUpdate {
  param: string;
  state: string[];
}

export interface EarlierSlot {
  slot: string;
  factor: number;
}

/**
 * An optimiser compiled into the train-step graph. Each parameter carries one state tensor per slot (same shape
 * as the parameter), fed in and returned every step.
 */
export interface Optimizer {
  readonly slots: readonly string[];
  /**
   * Slots that checkpoints of an earlier layout kept in place of one of these, each with the factor that turns its
   * value into this slot's: such a checkpoint still resumes (to the same weights within rounding, not bit for bit).
   */
  readonly earlierSlots?: Readonly<Record<string, EarlierSlot>>;
  /** Appends the shared scalar work once, and returns the function that appends one parameter's update. */
  updater(b: GraphBuilder, scalars: UpdateScalars): (param: string, grad: string, state: string[]) => ParamUpdate;
}
