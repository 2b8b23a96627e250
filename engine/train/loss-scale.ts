// Dynamic loss scaling for mixed precision, as torch.cuda.amp.GradScaler does it: the loss is multiplied by `scale`
// before the backward pass so that small float16 gradients do not flush to zero. An update whose gradients
// overflowed (GRADS_FINITE false) is skipped and the scale halved; after `growthInterval` finite updates in a row it
// doubles. The scale is a power of two times the initial one, so multiplying and dividing by it is exact. It is part
// of where a run stands (RunPosition), so a checkpoint keeps it and a resumed run continues bit-identically.

/** GradScaler's defaults: init_scale 2^16, growth_interval 2000 (growth 2, backoff 0.5). */
export const LOSS_SCALE_DEFAULTS = { initial: 2 ** 16, growthInterval: 2000 } as const;

export interface LossScale {
  scale: number;
  /** Finite updates since the scale last changed. */
  goodSteps: number;
  /** Updates skipped for overflow so far: the optimiser's step count (Adam's bias correction) leaves them out. */
  skipped: number;
}

export const initialLossScale = (initial: number = LOSS_SCALE_DEFAULTS.initial): LossScale => ({
  scale: initial,
  goodSteps: 0,
  skipped: 0,
});

/** Advances `s` past an update whose gradients were finite or not. */
export function advanceLossScale(
  s: LossScale,
  finite: boolean,
  growthInterval: number = LOSS_SCALE_DEFAULTS.growthInterval,
): void {
  if (!finite) {
    s.scale /= 2;
    s.goodSteps = 0;
    s.skipped++;
    return;
  }
  s.goodSteps++;
  // A scale that float32 (the graph's loss_scale input) cannot hold is not grown to.
  if (s.goodSteps >= growthInterval && Number.isFinite(Math.fround(s.scale * 2))) {
    s.scale *= 2;
    s.goodSteps = 0;
  }
}
