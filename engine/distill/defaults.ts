// What a distillation takes when the caller does not say: `ratchet distill`, the job's distill stage and the API's
// check of a request share them. A module of its own, so the API reads them without loading the engine.
import { TRAINING_DEFAULTS } from '../train/defaults.ts';

export const distillDefaults = { temperature: 2, alpha: 0.5, epochs: 10, batchSize: 32 } as const;

/** The student's learning rate: what its architecture trains with from labels (a fastText bag needs 10 times more). */
export const studentLr = (arch: 'mlp' | 'fasttext') => TRAINING_DEFAULTS[arch].lr;
