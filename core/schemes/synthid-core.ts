// SynthID-Text tournament sampling and mean-score detection math (Dathathri et al., Nature 2024).
//
// Follows google-deepmind/synthid-text @ addb4a158143c7c6851a1308f78b89fceed59683:
// - logits_processing.py: update_scores (2 leaves), update_scores_distortionary (N > 2),
//   the context-history check in watermarked_call, compute_context_repetition_mask,
//   compute_eos_token_mask; HF SynthIDTextWatermarkLogitsProcessor has the same logic.
// - detector_mean.py: mean_score, weighted_mean_score.
// g-values come from core/prf/synthid.ts.

/**
 * One tournament per layer, in closed form, on a probability vector (not log-space like the reference;
 * the reference's softmax → update → log → later softmax is the same distribution).
 * `gValues` is vocab × depth, row-major by candidate. Returns the renormalised vector in `out` (a new
 * one by default; `probs` itself updates in place).
 */
export function tournamentUpdate(
  probs: Float64Array,
  gValues: Uint8Array,
  depth: number,
  numLeaves: number,
  out: Float64Array = new Float64Array(probs.length),
): Float64Array {
  const V = probs.length
  if (!(Number.isInteger(numLeaves) && numLeaves >= 2)) throw new RangeError(`numLeaves must be ≥ 2`)
  if (!(Number.isInteger(depth) && depth >= 0)) throw new RangeError(`bad depth ${depth}`)
  if (gValues.length < V * depth) throw new RangeError('gValues shorter than vocab × depth')
  if (out.length !== V) throw new RangeError('out must have one entry per probability')
  const p = out
  if (p !== probs) p.set(probs)
  for (let l = 0; l < depth; l++) {
    let m = 0
    for (let v = 0; v < V; v++) if (gValues[v * depth + l]) m += p[v]
    if (numLeaves === 2) {
      // p·(1 + g − m): the 2-leaf tournament, which is unbiased over g.
      const up = 1 + 1 - m
      const down = 1 - m
      for (let v = 0; v < V; v++) p[v] *= gValues[v * depth + l] ? up : down
    } else {
      const notIn = (1 - m) ** (numLeaves - 1)
      // m = 0 means no mass on g = 1, so coeffIn would multiply only zeros (reference: 0/0 never selected).
      const coeffIn = m > 0 ? (1 - (1 - m) ** numLeaves) / m : 0
      for (let v = 0; v < V; v++) {
        // Reference applies coeffIn only where g = 1 AND p > 0; for p = 0 either factor keeps 0.
        p[v] *= gValues[v * depth + l] && p[v] > 0 ? coeffIn : notIn
      }
    }
  }
  let s = 0
  for (let v = 0; v < V; v++) s += p[v]
  if (s > 0 && Number.isFinite(s)) for (let v = 0; v < V; v++) p[v] /= s
  return p
}

/**
 * The reference's context_history: a shift register of `historySize` int64 context hashes that starts
 * all zeros (so a context hash of exactly 0 counts as seen until 1024 others push the zeros out).
 * `seen(h)` answers "is h in the history?" and then records h, as both generation and detection do.
 * Watermarking is skipped, and the detection mask is 0, where it answers true.
 */
export class ContextRepetitionTracker {
  // A plain array, not BigInt64Array: keeps BigInts tagged (see the V8 note in core/prf/synthid.ts).
  private readonly ring: bigint[]
  private readonly counts = new Map<bigint, number>()
  private next = 0

  constructor(readonly historySize = 1024) {
    if (!(Number.isInteger(historySize) && historySize >= 1)) throw new RangeError('historySize must be ≥ 1')
    this.ring = new Array<bigint>(historySize).fill(0n)
    this.counts.set(0n, historySize)
  }

  /** `contextHash` as synthidContextHash returns it (signed int64 value). */
  seen(contextHash: bigint): boolean {
    const h = contextHash
    const hit = (this.counts.get(h) ?? 0) > 0
    const old = this.ring[this.next]
    const c = this.counts.get(old)! - 1
    if (c === 0) this.counts.delete(old)
    else this.counts.set(old, c)
    this.ring[this.next] = h
    this.counts.set(h, (this.counts.get(h) ?? 0) + 1)
    this.next = (this.next + 1) % this.historySize
    return hit
  }
}

export function contextRepetitionTracker(historySize = 1024): ContextRepetitionTracker {
  return new ContextRepetitionTracker(historySize)
}

/** compute_context_repetition_mask: 1 where the context was not among the last `historySize`, else 0. */
export function contextRepetitionMask(contextHashes: ArrayLike<bigint>, historySize = 1024): Uint8Array {
  const t = new ContextRepetitionTracker(historySize)
  const out = new Uint8Array(contextHashes.length)
  for (let i = 0; i < contextHashes.length; i++) out[i] = t.seen(contextHashes[i]) ? 0 : 1
  return out
}

/**
 * compute_eos_token_mask(ids)[ngramLen − 1:]: per n-gram position, 0 once the n-gram's last token is
 * at or after the first EOS. `eosTokenId` undefined → all ones.
 */
export function eosNgramMask(ids: ArrayLike<number>, ngramLen: number, eosTokenId?: number): Uint8Array {
  const n = Math.max(0, ids.length - ngramLen + 1)
  const out = new Uint8Array(n).fill(1)
  if (eosTokenId === undefined) return out
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === eosTokenId) {
      for (let p = Math.max(0, i - ngramLen + 1); p < n; p++) out[p] = 0
      break
    }
  }
  return out
}

function checkShapes(g: Uint8Array, mask: ArrayLike<number>, depth: number): void {
  if (g.length !== mask.length * depth) throw new RangeError('g must be positions × depth, matching mask')
}

/** detector_mean.mean_score: Σ g·mask / (depth · Σ mask). NaN when nothing is unmasked (as 0/0 there). */
export function meanScore(g: Uint8Array, mask: ArrayLike<number>, depth: number): number {
  const { ones, trials } = meanScoreBinomialCounts(g, mask, depth)
  return ones / trials
}

/** linspace(10, 1, depth) rescaled to sum to depth (detector_mean.weighted_mean_score defaults). */
export function defaultSynthidWeights(depth: number): Float64Array {
  const w = new Float64Array(depth)
  for (let i = 0; i < depth; i++) w[i] = depth === 1 ? 10 : 10 + (i * (1 - 10)) / (depth - 1)
  return normaliseWeights(w, depth)
}

function normaliseWeights(weights: ArrayLike<number>, depth: number): Float64Array {
  if (weights.length !== depth) throw new RangeError('weights must have one entry per layer')
  let s = 0
  for (let i = 0; i < depth; i++) s += weights[i]
  const w = new Float64Array(depth)
  for (let i = 0; i < depth; i++) w[i] = (weights[i] * depth) / s
  return w
}

/**
 * detector_mean.weighted_mean_score. Custom weights are rescaled to sum to depth, as there.
 * (The reference runs in JAX float32 by default; this is float64, so values can differ by ~1e-7.)
 */
export function weightedMeanScore(
  g: Uint8Array,
  mask: ArrayLike<number>,
  depth: number,
  weights?: ArrayLike<number>,
): number {
  checkShapes(g, mask, depth)
  const w = weights ? normaliseWeights(weights, depth) : defaultSynthidWeights(depth)
  let num = 0
  let unmasked = 0
  for (let t = 0; t < mask.length; t++) {
    if (!mask[t]) continue
    unmasked += mask[t]
    let row = 0
    for (let l = 0; l < depth; l++) if (g[t * depth + l]) row += w[l]
    num += mask[t] * row
  }
  return num / (depth * unmasked)
}

/**
 * Counts for an exact binomial test of the mean score. Under H0 (text independent of the key) each
 * g is modelled as Bernoulli(0.5), independent across layers and positions, so ones ~ Bin(trials, 0.5)
 * and meanScore = ones / trials.
 * Caveat: for the 2025 hash, layers are not quite independent: with the default 30 keys, pairwise
 * agreement between layers ranges over about 0.46–0.54, and Var(Σ_l g) is about 1.06× the independent
 * value (measured on 200k random 5-grams, checked against a numpy transcription of the reference).
 * The binomial tail is therefore slightly anti-conservative there; calibrate, or inflate the variance,
 * for very small p-values.
 */
export function meanScoreBinomialCounts(
  g: Uint8Array,
  mask: ArrayLike<number>,
  depth: number,
): { ones: number; trials: number } {
  checkShapes(g, mask, depth)
  let ones = 0
  let unmasked = 0
  for (let t = 0; t < mask.length; t++) {
    if (!mask[t]) continue
    unmasked += mask[t]
    let row = 0
    for (let l = 0; l < depth; l++) row += g[t * depth + l]
    ones += mask[t] * row
  }
  return { ones, trials: depth * unmasked }
}

/**
 * Null moments of the weighted mean score over `unmasked` positions. Under H0 the score is a weighted
 * sum of independent Bernoulli(0.5) (Σ_t Σ_l w_l g_tl / (depth·n)), not a binomial, so we give
 * mean 0.5 (weights sum to depth) and variance Σ_l w_l² / (4·depth²·n) for a normal approximation
 * or as a calibration check. Same layer-correlation caveat as meanScoreBinomialCounts.
 */
export function weightedMeanScoreNull(
  unmasked: number,
  depth: number,
  weights?: ArrayLike<number>,
): { mean: number; variance: number } {
  const w = weights ? normaliseWeights(weights, depth) : defaultSynthidWeights(depth)
  let sq = 0
  for (let l = 0; l < depth; l++) sq += w[l] * w[l]
  return { mean: 0.5, variance: sq / (4 * depth * depth * unmasked) }
}

/** Expected per-layer mean g of watermarked text under a uniform LM (g_value_expectations.py). */
export function expectedMeanGValue(vocabSize: number, numLeaves = 2): number {
  if (numLeaves === 2) return 0.5 + 0.25 * (1 - 1 / vocabSize)
  if (numLeaves === 3) return 7 / 8 - 3 / (8 * vocabSize)
  throw new RangeError('expectedMeanGValue: only 2 or 3 leaves have a closed form')
}
