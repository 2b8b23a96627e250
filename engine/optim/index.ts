import { adamw, type AdamWConfig } from './adamw.ts';
import type { Optimizer } from './optimizer.ts';
import { sgd, type SgdConfig } from './sgd.ts';

export { adamw, sgd };
export { clipByGlobalNorm } from './clip.ts';
export { learningRate, type Decay, type Schedule } from './schedule.ts';
export type { EarlierSlot, Optimizer, ParamUpdate, UpdateScalars } from './optimizer.ts';

/** An optimiser as a JSON-serialisable config (it goes into checkpoints and model lineage). */
export type OptimizerConfig = ({ kind: 'adamw' } & AdamWConfig) | ({ kind: 'sgd' } & SgdConfig);

export function makeOptimizer(config: OptimizerConfig): Optimizer {
  return config.kind === 'adamw' ? adamw(config) : sgd(config);
}
