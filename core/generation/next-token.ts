// One decoding step: temperature → top-k → top-p → watermark (or plain sampling). The filters work on a
// list of candidate ids (the finite logits) and hand the survivors to the watermarker, so its PRF work is
// spent only on candidates that can still be chosen. Buffers are reused: no vocabulary-sized allocation
// per step.
import {
  CandidateList,
  logitWindow,
  negligibleBelow,
  sampleSoftmax,
  softmaxInto,
} from '../schemes/sampling.ts'
import type { Candidates, Rng, SequenceWatermarker } from '../schemes/types.ts'

export interface StepSampling {
  /** > 0; greedy decoding (0) is only for unwatermarked requests and is handled by the caller. */
  temperature: number
  /** 0 = off. */
  topK: number
  /** 1 = off. */
  topP: number
}

const candidates = new CandidateList()

/**
 * The ids a full-vector filter leaves finite, ascending, with their filtered logits: logit · (1/T) in
 * float32; top-k keeps every logit ≥ the k-th largest (ties kept, as torch.topk-based filters do); top-p
 * keeps the most probable ids — by descending probability, then id — until their mass reaches topP.
 * The result lives in a buffer reused by the next call.
 */
export function filterCandidates(logits: Float32Array, s: StepSampling): Candidates {
  const c = candidates.fromLogits(logits, 1 / s.temperature)
  if (s.topK > 0 && s.topK < logits.length) keepTopK(c, s.topK)
  if (s.topP < 1) keepTopP(c, s.topP)
  return c
}

/** Chooses the next token; a watermarker records it in its own history. */
export function nextToken(
  logits: Float32Array,
  sampling: StepSampling,
  watermarker: SequenceWatermarker | null,
  rng: Rng,
): number {
  const c = filterCandidates(logits, sampling)
  if (watermarker) return watermarker.nextFromCandidates(c, rng)
  return sampleSoftmax(logitWindow(c, negligibleBelow(c.count, 0)), rng)
}

let heap = new Float32Array(0)

function keepTopK(c: CandidateList, k: number): void {
  const { ids, logits, count } = c
  if (count <= k) return
  // A min-heap of the k largest logits seen: its root ends as the k-th largest. O(n) while few replace it.
  if (heap.length < k) heap = new Float32Array(k)
  const h = heap
  h.set(logits.subarray(0, k))
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(h, k, i)
  let root = h[0]
  for (let j = k; j < count; j++) {
    const x = logits[j]
    if (x > root) {
      h[0] = x
      siftDown(h, k, 0)
      root = h[0]
    }
  }
  let n = 0
  for (let j = 0; j < count; j++) {
    const x = logits[j]
    ids[n] = ids[j]
    logits[n] = x
    n += +(x >= root)
  }
  c.count = n
}

function siftDown(h: Float32Array, n: number, i: number): void {
  const v = h[i]
  for (;;) {
    let child = 2 * i + 1
    if (child >= n) break
    if (child + 1 < n && h[child + 1] < h[child]) child++
    if (!(h[child] < v)) break
    h[i] = h[child]
    i = child
  }
  h[i] = v
}

let probs = new Float64Array(0)
let probWords = new Uint32Array(0)
let order = new Int32Array(0)
let kept = new Uint8Array(0)
const bucketStart = new Int32Array(2049)
/** Index of a float64's high 32-bit word in a Uint32Array view (platform byte order). */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0

function keepTopP(c: CandidateList, topP: number): void {
  const n = c.count
  if (probs.length < n) {
    probs = new Float64Array(n)
    probWords = new Uint32Array(probs.buffer)
    order = new Int32Array(n)
    kept = new Uint8Array(n)
  }
  const p = softmaxInto(c, probs)
  const words = probWords
  // Bucket the ids by the binary exponent of their probability, largest first: buckets come in
  // descending-probability order and equal probabilities share one, so sorting bucket by bucket gives
  // the order of a full sort — and only the buckets the kept mass reaches get sorted. Bucket b holds
  // exponent 2047 − b. Ids of probability 0 (logits ≈ 745 nats below the top) are dropped; the
  // full-vector filter left them finite, but with any scheme's bounded boost they weigh < 2^−53.
  bucketStart.fill(0)
  for (let j = 0; j < n; j++) {
    if (p[j] > 0) bucketStart[2048 - ((words[2 * j + HIGH_WORD] >>> 20) & 0x7ff)]++
  }
  for (let b = 1; b <= 2048; b++) bucketStart[b] += bucketStart[b - 1]
  const total = bucketStart[2048]
  for (let j = 0; j < n; j++) {
    if (p[j] > 0) order[bucketStart[2047 - ((words[2 * j + HIGH_WORD] >>> 20) & 0x7ff)]++] = j
  }
  // bucketStart[b] is now the end of bucket b
  kept.fill(0, 0, n)
  let acc = 0
  let from = 0
  for (let b = 0; b < 2048 && from < total && acc < topP; b++) {
    const to = bucketStart[b]
    if (to === from) continue
    order.subarray(from, to).sort((x, y) => p[y] - p[x] || x - y)
    for (let i = from; i < to && acc < topP; i++) {
      acc += p[order[i]]
      kept[order[i]] = 1
    }
    from = to
  }
  const { ids, logits } = c
  let m = 0
  for (let j = 0; j < n; j++) {
    ids[m] = ids[j]
    logits[m] = logits[j]
    m += kept[j]
  }
  c.count = m
}
