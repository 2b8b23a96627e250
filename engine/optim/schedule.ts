// Learning-rate schedules run on the host: the train-step graph takes `lr` as a scalar input, so changing the
// schedule never changes the compiled graph.

export type Decay = 'cosine' | 'linear' | 'constant';

export interface Schedule {
  lr: number;
  totalSteps: number;
  warmupSteps?: number;
  decay?: Decay;
  minLr?: number;
}

/** The learning rate for the update that follows `step` completed updates (0-based). */
export function learningRate(step: number, schedule: Schedule): number {
  const { lr, totalSteps, warmupSteps = 0, decay = 'cosine', minLr = 0 } = schedule;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  if (decay === 'constant') return lr;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  const fraction = decay === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return minLr + (lr - minLr) * fraction;
}
