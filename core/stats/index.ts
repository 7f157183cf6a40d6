// Public API of core/stats: exact, log-space tail probabilities for watermark detection.
export { binomialLogCdf, binomialLogPmf, binomialLogSf, binomialSf } from './binomial.ts'
export { gammaLogP, gammaLogQ, gammaLogSfInt, gammaQ, gammaSfInt, poissonLogPmf } from './gamma.ts'
export {
  bd0,
  LN_2PI,
  LN_SQRT_2PI,
  log1mExp,
  logAddExp,
  logChoose,
  logFactorial,
  logGamma,
  logSumExp,
  stirlerr,
} from './log-math.ts'
export { normalLogCdf, normalLogSf, normalSf, zScoreBinomial } from './normal.ts'
export {
  bonferroni,
  formatP,
  holm,
  holmMin,
  log10P,
  type PValue,
  pValueFromLog,
  pValueFromP,
} from './pvalue.ts'
export {
  type WindowOptions,
  type WindowResult,
  windowedBinomial,
  windowedLogP,
  windowedScores,
  windowPlan,
} from './windows.ts'
