import type { GraphBuilder } from '../ir/index.ts';

/** The scalar graph inputs every update reads: `step` counts updates from 1 (for bias correction). */
export interface UpdateScalars {
  step: string;
  lr: string;
}

export interface ParamUpdate {
  param: string;
  state: string[];
}

/**
 * An optimiser compiled into the train-step graph. Each parameter carries one state tensor per slot (same shape
 * as the parameter), fed in and returned every step.
 */
export interface Optimizer {
  readonly slots: readonly string[];
  /** Appends the shared scalar work once, and returns the function that appends one parameter's update. */
  updater(b: GraphBuilder, scalars: UpdateScalars): (param: string, grad: string, state: string[]) => ParamUpdate;
}
