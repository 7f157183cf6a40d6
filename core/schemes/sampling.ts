// Sampling helpers shared by the schemes' generation side.
import type { Rng } from './types.ts'

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
