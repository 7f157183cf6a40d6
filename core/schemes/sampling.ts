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
  const n = logits.length
  // A large share of a short list (a top-k window): insertion-sort all of it (ids ascending, moved
  // only past strictly smaller logits, so ties keep the lower id first).
  if (4 * k >= n) {
    const all = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const v = logits[i]
      let j = i
      for (; j > 0 && v > logits[all[j - 1]]; j--) all[j] = all[j - 1]
      all[j] = i
    }
    all.length = Math.min(k, n)
    return all
  }
  // Insertion into a k-long sorted list: O(V) for the common case, no full sort of the vocabulary.
  const ids: number[] = []
  for (let i = 0; i < n; i++) {
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

let keyLo = new Float64Array(0)
let keyHi = new Float64Array(0)
let inMaybe = new Uint8Array(0)

/** A standard Gumbel from a uniform in [0, 1) (shifted by half a step so the logs stay finite). */
function gumbel(u: number): number {
  return -Math.log(-Math.log(u + 2 ** -54))
}

/**
 * A draw from softmax(l_j + δ·green_j) over the candidates when the flags of those in `maybe` (indices
 * into c, largest logit first) are costly to find. `resolve(contenders)` gets the unresolved candidates
 * that can still win as positions k in `maybe`, the leader first; it sets green[maybe[k]] for a prefix
 * of them (at least the leader: a membership walk each, or one pass for all) and returns its length.
 * Gumbel-max: candidate k of `maybe` has key l + G_k if red, f32(l + δ) + G_k if green (the biased
 * logit a Float32Array holds); every other candidate's flag must already be in green[] (all 0 for
 * self-hash: only its top candidates are ever biased), and together they enter as one key
 * LSE(their biased logits) + G — the largest of their perturbed logits has that law, and which of them
 * attains it is independent of it, so one inverse-CDF draw over them picks it.
 * The key with the largest upper bound is resolved first, and only until one key is certainly the
 * largest (a leader whose red key beats every other bound wins unresolved): ≈ 2.3 walks per step on
 * brown-lm's top-k 50 rows, where an inverse-CDF draw in id order needed ≈ 31. The token is the argmax
 * of the keys with every flag known (ties to the earlier key, `maybe` before the rest), so it does not
 * depend on which flags were resolved. Uniforms drawn: |maybe| + 1, then one more if the rest wins.
 */
export function sampleGumbelLazy(
  c: Candidates,
  rng: Rng,
  maybe: readonly number[],
  resolve: (contenders: readonly number[]) => number,
  green: Uint8Array,
  delta: number,
): number {
  const n = c.count
  const m = maybe.length
  if (keyLo.length < m + 1) {
    keyLo = new Float64Array(Math.max(m + 1, 64))
    keyHi = new Float64Array(keyLo.length)
  }
  if (inMaybe.length < n) inMaybe = new Uint8Array(Math.max(n, 2 * inMaybe.length))
  const lo = keyLo
  const hi = keyHi
  for (let k = 0; k < m; k++) {
    const j = maybe[k]
    const g = gumbel(rng())
    lo[k] = c.logits[j] + g
    hi[k] = Math.fround(c.logits[j] + delta) + g
    inMaybe[j] = 1
  }
  // The rest, flags known: log Σ e^b over their biased logits (maybe's entries −∞ here).
  if (weights.length < n) weights = new Float64Array(Math.max(n, 2 * weights.length))
  const b = weights
  let restMax = -Infinity
  for (let j = 0; j < n; j++) {
    const x = inMaybe[j] ? -Infinity : green[j] ? Math.fround(c.logits[j] + delta) : c.logits[j]
    b[j] = x
    if (x > restMax) restMax = x
  }
  let restSum = 0
  if (restMax > -Infinity) for (let j = 0; j < n; j++) restSum += Math.exp(b[j] - restMax)
  const g = gumbel(rng())
  lo[m] = hi[m] = restMax > -Infinity ? restMax + Math.log(restSum) + g : -Infinity
  for (const j of maybe) inMaybe[j] = 0
  const open = new Uint8Array(m) // 1: flag not known yet
  open.fill(1)
  for (;;) {
    let a = 0
    for (let k = 1; k <= m; k++) if (hi[k] > hi[a]) a = k
    if (a === m || !open[a]) return a < m ? c.ids[maybe[a]] : pickRest(c, b, restMax, restSum, rng)
    // Leader unresolved: it wins as it stands if even its red key beats every other upper bound.
    let wins = true
    for (let k = 0; k <= m && wins; k++) if (k !== a && !(lo[a] > hi[k])) wins = false
    if (wins) return c.ids[maybe[a]]
    // The unresolved candidates that can still win, leader first; the caller resolves a prefix.
    let maxLo = lo[m]
    for (let k = 0; k < m; k++) if (lo[k] > maxLo) maxLo = lo[k]
    const contenders = [a]
    for (let k = 0; k < m; k++) if (k !== a && open[k] && hi[k] > maxLo) contenders.push(k)
    const done = resolve(contenders)
    for (let i = 0; i < Math.max(1, Math.min(done, contenders.length)); i++) {
      const k = contenders[i]
      open[k] = 0
      if (green[maybe[k]]) lo[k] = hi[k]
      else hi[k] = lo[k]
    }
  }
}

/** Inverse-CDF draw among the rest, in id order: `b` holds their biased logits (−∞ for the others). */
function pickRest(c: Candidates, b: Float64Array, max: number, sum: number, rng: Rng): number {
  const target = rng() * sum
  let acc = 0
  let last = -1
  for (let j = 0; j < c.count; j++) {
    const w = Math.exp(b[j] - max)
    if (w <= 0) continue
    acc += w
    last = j
    if (target < acc) break
  }
  return c.ids[last]
}

/**
 * Whether to hand per-candidate PRF work to the kernel. The JavaScript reference kernel is written for
 * clarity (it allocates per position), so generation then uses the core's direct PRF code instead.
 */
export function isFastKernel(kernel: ScoringKernel): boolean {
  return kernel.name !== 'js'
}
