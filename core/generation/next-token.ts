// One decoding step: temperature → top-k → top-p → watermark (or plain sampling). Filtering comes
// first so the watermark's PRF work is spent only on candidates that can still be chosen.
import { sampleCategorical, softmax } from '../schemes/sampling.ts'
import type { Rng, SequenceWatermarker } from '../schemes/types.ts'

export interface StepSampling {
  /** > 0; greedy decoding (0) is only for unwatermarked requests and is handled by the caller. */
  temperature: number
  /** 0 = off. */
  topK: number
  /** 1 = off. */
  topP: number
}

/**
 * Writes the filtered, temperature-scaled logits into `out` (−Infinity for dropped ids) and returns it.
 */
export function filterLogits(logits: Float32Array, s: StepSampling, out = new Float32Array(logits.length)) {
  const inv = 1 / s.temperature
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] * inv
  if (s.topK > 0 && s.topK < out.length) {
    const kth = kthLargest(out, s.topK)
    // ties at the k-th value are kept, as torch.topk-based filters keep every logit ≥ the k-th
    for (let i = 0; i < out.length; i++) if (out[i] < kth) out[i] = -Infinity
  }
  if (s.topP < 1) {
    const p = softmax(out)
    const ids: number[] = []
    for (let i = 0; i < p.length; i++) if (p[i] > 0) ids.push(i)
    ids.sort((a, b) => p[b] - p[a] || a - b)
    let acc = 0
    let keep = 0
    while (keep < ids.length && acc < s.topP) acc += p[ids[keep++]]
    for (let j = keep; j < ids.length; j++) out[ids[j]] = -Infinity
  }
  return out
}

function kthLargest(values: Float32Array, k: number): number {
  const finite = Array.from(values).filter((v) => v !== -Infinity)
  if (finite.length <= k) return -Infinity
  finite.sort((a, b) => b - a)
  return finite[k - 1]
}

/** Chooses the next token; a watermarker records it in its own history. */
export function nextToken(
  logits: Float32Array,
  sampling: StepSampling,
  watermarker: SequenceWatermarker | null,
  rng: Rng,
): number {
  const filtered = filterLogits(logits, sampling)
  return watermarker ? watermarker.next(filtered, rng) : sampleCategorical(softmax(filtered), rng)
}
