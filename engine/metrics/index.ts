export { softmax, logSoftmax, argmaxRows } from './softmax.ts';
export { accuracy, confusionMatrix, perClassScores, macroF1, type ClassScores } from './classification.ts';
export { expectedCalibrationError, brierScore, negativeLogLikelihood, ECE_BINS } from './calibration.ts';
export { auroc, maxProbability, oodAuroc } from './auroc.ts';
export { evaluate, type EvaluationMetrics } from './evaluate.ts';
export {
  measureLatencies,
  measureLatency,
  percentile,
  type FeedsFor,
  type LatencyOptions,
  type LatencyReport,
  type Measured,
} from './latency.ts';
export { churn, CHURN_EXAMPLES, type Churn } from './paired.ts';
export { compareModels, type Comparison, type PairedPredictions } from './compare.ts';
export {
  BOOTSTRAP_DEFAULTS,
  erfc,
  mcnemar,
  MCNEMAR_EXACT_BELOW,
  pairedBootstrap,
  quantile,
  type BootstrapOptions,
  type BootstrapReport,
  type Interval,
  type McNemar,
  type PairedIntervals,
} from './uncertainty.ts';
export { sliceScores, type SliceScore } from './slices.ts';
export {
  NOISE_SCALES,
  perturbFeatures,
  perturbTexts,
  ROBUSTNESS_SEED,
  TEXT_RATES,
  type FeatureMatrix,
  type TextPerturbation,
} from './robustness.ts';
