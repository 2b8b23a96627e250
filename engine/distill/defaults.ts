// What a distillation takes when the caller does not say: `ratchet distill`, the job's distil stage and the API's
// check of a request share them. A module of its own, so the API reads them without loading the engine.
export const distillDefaults = { temperature: 2, alpha: 0.5, epochs: 10, batchSize: 32, lr: 1e-3 } as const;
