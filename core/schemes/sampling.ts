// Sampling helpers shared by the schemes' generation side. A step works on the candidate ids only
// (those a filter left, or the finite ones), so PRF work and softmax cost scale with the candidates,
// not with the vocabulary; buffers are reused across steps.
import type { ScoringKernel } from '../kernel/types.ts'
import type { Candidates, Rng } from './types.ts'

/** Softmax in float64; −Infinity logits get probability 0. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i]
  const p = new Float64Array(logits.length)
  if (max === -Infinity) throw new RangeError('softmax: every logit is −Infinity')
  let sum = 0
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i] - max)
    p[i] = e
    sum += e
  }
  for (let i = 0; i < p.length; i++) p[i] /= sum
  return p
}

/** Inverse-CDF draw from a probability vector. */
export function sampleCategorical(probs: ArrayLike<number>, rng: Rng): number {
  const r = rng()
  let acc = 0
  let last = -1
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue
    acc += probs[i]
    last = i
    if (r < acc) return i
  }
  return last // rounding left r ≥ Σp: the last possible token
}

/** Index of the largest value; ties go to the lowest index (as torch.argmax on CPU). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i
  return best
}

/** The k candidate ids with the largest logits, by descending logit (lower id first on ties). */
export function topIds(logits: ArrayLike<number>, k: number): number[] {
  // Insertion into a k-long sorted list: O(V) for the common case, no full sort of the vocabulary.
  const ids: number[] = []
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]
    if (ids.length === k && !(v > logits[ids[k - 1]])) continue
    let j = ids.length < k ? ids.length : k - 1
    while (j > 0 && v > logits[ids[j - 1]]) j--
    ids.splice(j, 0, i)
    if (ids.length > k) ids.pop()
  }
  return ids
}

export function checkLogits(logits: Float32Array, vocabSize: number): void {
  if (logits.length !== vocabSize) {
    throw new RangeError(`logits have ${logits.length} entries, the scheme's vocabulary has ${vocabSize}`)
  }
}

/** A growable candidate list: its arrays are reallocated only when a step needs more room. */
export class CandidateList implements Candidates {
  ids = new Int32Array(0)
  logits = new Float32Array(0)
  count = 0

  /** Empties the list and makes room for n candidates. */
  reset(n: number): this {
    if (this.ids.length < n) {
      this.ids = new Int32Array(n)
      this.logits = new Float32Array(n)
    }
    this.count = 0
    return this
  }

  /**
   * The finite entries of a full logit vector, each times `scale` rounded to float32 — the value a
   * Float32Array of scaled logits would hold (scale = 1 / temperature). NaN counts as −Infinity, as
   * vLLM's sampling kernel maps it.
   */
  fromLogits(full: Float32Array, scale = 1): this {
    this.reset(full.length)
    const { ids, logits } = this
    let n = 0
    for (let i = 0; i < full.length; i++) {
      // Branch-free: masks such as brown-lm's make a branch here mispredict on most ids.
      const x = Math.fround(full[i] * scale)
      ids[n] = i
      logits[n] = x
      n += +(x > -Infinity)
    }
    this.count = n
    return this
  }
}

const everyFinite = new CandidateList()

/** The candidates of a full logit vector (its finite entries): what `next(logits, rng)` steps on. */
export function finiteCandidates(logits: Float32Array): Candidates {
  return everyFinite.fromLogits(logits)
}

export function maxLogit(c: Candidates): number {
  let max = -Infinity
  for (let j = 0; j < c.count; j++) if (c.logits[j] > max) max = c.logits[j]
  if (max === -Infinity) throw new RangeError('softmax: every logit is −Infinity')
  return max
}

/**
 * How far below the top logit a candidate can be dropped when its weight can rise by at most e^boost:
 * its weight is then < e^−1 · 2^−53 / count of the top one, so all dropped ones together weigh less than
 * 2^−53 of the softmax normaliser — below the rounding of the float64 sums that a full-vocabulary softmax
 * makes anyway. Sampling over the kept ones has the same distribution to float64 precision.
 */
export function negligibleBelow(count: number, boost: number): number {
  return boost + Math.log(count) + 53 * Math.LN2 + 1
}

const windowed = new CandidateList()

/** The candidates whose logit is ≥ max − reach: `c` itself when none is lower, else a shared buffer. */
export function logitWindow(c: Candidates, reach: number): Candidates {
  const floor = maxLogit(c) - reach
  const count = c.count
  let keep = 0
  for (let j = 0; j < count; j++) if (c.logits[j] >= floor) keep++
  if (keep === count) return c
  const out = windowed.reset(keep) // may be `c` itself: compacting in order is safe
  let n = 0
  for (let j = 0; j < count; j++) {
    if (c.logits[j] >= floor) {
      out.ids[n] = c.ids[j]
      out.logits[n++] = c.logits[j]
    }
  }
  out.count = n
  return out
}

/** softmax of the candidates into out[0 .. count): the arithmetic of softmax() on the full vector. */
export function softmaxInto(c: Candidates, out: Float64Array): Float64Array {
  const max = maxLogit(c)
  let sum = 0
  for (let j = 0; j < c.count; j++) {
    const e = Math.exp(c.logits[j] - max)
    out[j] = e
    sum += e
  }
  for (let j = 0; j < c.count; j++) out[j] /= sum
  return out
}

let weights = new Float64Array(0)

/**
 * Inverse-CDF draw from the softmax of the candidates, those with `green[j]` raised by δ in float32 (as a
 * biased Float32Array copy holds them). Same arithmetic in the same ascending-id order as softmax +
 * sampleCategorical on the full vector, whose −Infinity entries only add exact zeros: the same draw
 * gives the same token.
 */
export function sampleSoftmax(c: Candidates, rng: Rng, green: Uint8Array | null = null, delta = 0): number {
  const n = c.count
  if (weights.length < n) weights = new Float64Array(Math.max(n, 2 * weights.length))
  const w = weights
  let max = -Infinity
  for (let j = 0; j < n; j++) {
    const b = green?.[j] ? Math.fround(c.logits[j] + delta) : c.logits[j]
    w[j] = b
    if (b > max) max = b
  }
  if (max === -Infinity) throw new RangeError('softmax: every logit is −Infinity')
  let sum = 0
  for (let j = 0; j < n; j++) {
    const e = Math.exp(w[j] - max)
    w[j] = e
    sum += e
  }
  const r = rng()
  let acc = 0
  let last = -1
  for (let j = 0; j < n; j++) {
    const p = w[j] / sum
    if (p <= 0) continue
    acc += p
    last = j
    if (r < acc) return c.ids[j]
  }
  return c.ids[last]
}

/** Above this many candidates the lazy sampler's O(count) decision per round costs more than it saves. */
const LAZY_MAX = 1024
let lazyLo = new Float64Array(0)
let lazyHi = new Float64Array(0)

/**
 * sampleSoftmax with the green flags found lazily. Only candidates in `maybe` (indices into c, largest
 * logit first) can be green; `resolve(js)` sets green[j] for the listed ones (the costly part: a
 * greenlist membership test each). They are resolved largest first, two at a time, only until the
 * uniform draw picks the same candidate whatever the unresolved flags turn out to be — by a margin of
 * 1e-9 of the total weight, far above the rounding of sampleSoftmax's sums — so the token is exactly
 * the one sampleSoftmax would return with every flag known (it is what runs when the bounds cannot
 * decide). One uniform is drawn, as sampleSoftmax draws.
 */
export function sampleSoftmaxLazy(
  c: Candidates,
  rng: Rng,
  maybe: readonly number[],
  resolve: (js: number[]) => void,
  green: Uint8Array,
  delta: number,
): number {
  const n = c.count
  if (n > LAZY_MAX || maybe.length === 0) {
    if (maybe.length > 0) resolve([...maybe])
    return sampleSoftmax(c, rng, green, delta)
  }
  if (lazyLo.length < n) {
    lazyLo = new Float64Array(Math.max(n, 2 * lazyLo.length))
    lazyHi = new Float64Array(lazyLo.length)
  }
  const lo = lazyLo
  const hi = lazyHi
  // Weights on a common scale (only their ratios matter): red e^(l − top), green e^(f32(l + δ) − top).
  const top = maxLogit(c) + delta
  for (let j = 0; j < n; j++) lo[j] = hi[j] = Math.exp(c.logits[j] - top)
  for (const j of maybe) hi[j] = Math.exp(Math.fround(c.logits[j] + delta) - top)
  const r = rng()
  for (let next = 0; ; ) {
    const k = decidedIndex(lo, hi, n, r)
    if (k >= 0) return c.ids[k]
    if (next >= maybe.length) return sampleSoftmax(c, () => r, green, delta)
    const js = maybe.slice(next, next + 2)
    next += js.length
    resolve(js)
    for (const j of js) {
      if (green[j]) lo[j] = hi[j]
      else hi[j] = lo[j]
    }
  }
}

/**
 * The index the draw r selects for every weight vector w with lo ≤ w ≤ hi, or −1 if that is not
 * certain. Index k is selected iff it is the first with f_k(w) = C_k − r·Z > 0 (C_k: the sum of w up to
 * k, Z: the total); f_k grows with the weights up to k and falls with those after it.
 */
function decidedIndex(lo: Float64Array, hi: Float64Array, n: number, r: number): number {
  let zLo = 0
  let zHi = 0
  for (let j = 0; j < n; j++) {
    zLo += lo[j]
    zHi += hi[j]
  }
  const margin = 1e-9 * zHi
  let cLo = 0
  let cHi = 0
  let lastNo = -1 // every index up to here is certainly not selected
  for (let k = 0; k < n; k++) {
    cLo += lo[k]
    cHi += hi[k]
    if (cHi * (1 - r) - r * (zLo - cLo) < -margin) lastNo = k
    if (cLo * (1 - r) - r * (zHi - cHi) > margin) return lastNo === k - 1 ? k : -1
  }
  return -1
}

/**
 * Whether to hand per-candidate PRF work to the kernel. The JavaScript reference kernel is written for
 * clarity (it allocates per position), so generation then uses the core's direct PRF code instead.
 */
export function isFastKernel(kernel: ScoringKernel): boolean {
  return kernel.name !== 'js'
}
