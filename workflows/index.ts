// The workflows a worker registers: Temporal bundles this file (and what it imports) into the workflow sandbox.
// Export each workflow function from here.
export { validateDatasetWorkflow, validationStatusQuery } from './validate-dataset.ts';
export { fineTuneJob } from './fine-tune-job.ts';
export { scheduledFineTuneJob } from './scheduled-job.ts';
export { ledgerWriter } from './ledger-writer.ts';
export { reproduceModel } from './reproduce.ts';
