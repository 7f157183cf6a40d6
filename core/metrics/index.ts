// Public API of core/metrics: detection rates at fixed α, ROC/AUC, seeded bootstrap intervals,
// text-quality metrics, p-value histograms and the experiment summary built from them.
export {
  type BootstrapOptions,
  bootstrapCi,
  deriveSeed,
  mean,
  meanDifference,
  pairedBootstrapCi,
  percentileInterval,
  stratifiedBootstrapCi,
} from './bootstrap.ts'
export { aucBootstrapCi } from './bootstrap-auc.ts'
export { bootstrapMeansCi } from './bootstrap-means.ts'
export {
  type BinomialTable,
  binomialTable,
  drawBinomial,
  proportionBootstrapCi,
} from './bootstrap-proportion.ts'
export { countRejections, empiricalFpr, nullsNeeded, tprAt, verifiable } from './detection.ts'
export { DEFAULT_MAX_BINS, histogram, negLog10P, pValueHistograms, sharedEdges } from './histogram.ts'
export { MAX_CORPUS_N, type NgramCounts, NgramCorpus } from './ngrams.ts'
export {
  distinctN,
  isPerplexity,
  logDiversity,
  MAX_LOG_DIVERSITY,
  meanLogPerplexity,
  meanPerplexity,
  repetitionRate,
} from './quality.ts'
export { ResampleCounts } from './resample-counts.ts'
export { auc, downsampleRoc, rocCurve } from './roc.ts'
export {
  DEFAULT_CONFIDENCE,
  DEFAULT_RESAMPLES,
  type SummarizeOptions,
  summarizeExperiment,
} from './summarize.ts'
export { MAX_ROC_POINTS } from './summarize-detection.ts'
