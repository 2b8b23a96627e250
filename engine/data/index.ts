export { Rng, type RngState } from './rng.ts';
export {
  batches,
  badLabel,
  DatasetError,
  forEachJsonlObject,
  isLabel,
  labelNamesOf,
  loadTabularJsonl,
  parseFeatureRowsJsonl,
  parseSlicesJsonl,
  parseTabularJsonl,
  takeRows,
  type FeatureRows,
  type ParseOptions,
  type TabularDataset,
} from './dataset.ts';
export { stratifiedSplit, type Split } from './split.ts';
