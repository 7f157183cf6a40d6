// A simulated language model for power tests: seeded random next-token logits whose softmax has
// a mean entropy of about 2.5 nats (the regime of real LMs on open-ended text).
import { seededRng } from '../core/rng.ts'
import { softmax } from '../core/schemes/sampling.ts'
import type { WatermarkScheme } from '../core/schemes/types.ts'

/** Standard normal via Box–Muller from a uniform source. */
function gaussian(rng: () => number): number {
  const u = 1 - rng()
  const v = rng()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

export function simulatedLogits(vocab: number, trial: number, step: number, scale = 3.8): Float32Array {
  const rng = seededRng(Math.imul(trial + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca77))
  const out = new Float32Array(vocab)
  for (let i = 0; i < vocab; i++) out[i] = scale * gaussian(rng)
  return out
}

export function entropy(logits: Float32Array): number {
  const p = softmax(logits)
  let h = 0
  for (const x of p) if (x > 0) h -= x * Math.log(x)
  return h
}

/** Generates `length` tokens with the scheme's watermarker (or plain sampling when scheme is null). */
export function generate(
  scheme: WatermarkScheme | null,
  vocab: number,
  trial: number,
  length: number,
): number[] {
  const rng = seededRng(0xabc0 + trial)
  const prompt = [11 + (trial % 50), 7, 3, 5]
  const wm = scheme?.watermarker(prompt)
  const out: number[] = []
  for (let s = 0; s < length; s++) {
    const logits = simulatedLogits(vocab, trial, s)
    if (wm) out.push(wm.next(logits, rng))
    else {
      const p = softmax(logits)
      let r = rng()
      let t = 0
      for (; t < p.length - 1 && r >= p[t]; t++) r -= p[t]
      out.push(t)
    }
  }
  return out
}
