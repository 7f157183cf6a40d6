import { describe, expect, it } from 'vitest'
import { seededRng } from '../rng.ts'
import { type DedupScope, GeneratedContext } from './vllm-context.ts'

/** Literal transcription of vLLM's CPU reference `repeated_context_mask` for one row (spec §7.2). */
function vllmRepeated(
  scope: DedupScope,
  w: number,
  maxHistory: number | null,
  prompt: number[],
  gen: number[],
): boolean {
  if (scope === 'none') return false
  const cur: number[] = []
  for (let j = 0; j < w; j++) {
    const p = gen.length - w + j
    cur.push(p >= 0 ? gen[p] : -1)
  }
  const history = scope === 'all' ? [...prompt, ...gen] : gen
  if (scope === 'all' && gen.length < w) return true
  const hStart = maxHistory === null ? 0 : Math.max(0, history.length - maxHistory)
  const prefix: number[] = new Array(w).fill(-1)
  for (let h = 0; h < history.length; h++) {
    if (h >= hStart && prefix.slice(-w).join() === cur.join()) return true
    prefix.push(history[h])
  }
  return false
}

describe('vLLM repeated-context mask', () => {
  it.each([
    ['single_turn', 8192],
    ['single_turn', 5],
    ['all', 8192],
    ['all', 7],
    ['none', 8192],
  ] as const)('scope %s, max history %i matches the reference', (scope, maxHistory) => {
    const rng = seededRng(scope.length * 31 + maxHistory)
    for (let trial = 0; trial < 40; trial++) {
      const w = 1 + (trial % 3)
      const prompt = Array.from({ length: trial % 6 }, () => Math.floor(rng() * 4))
      const ctx = new GeneratedContext(w, maxHistory, scope, prompt)
      const gen: number[] = []
      for (let step = 0; step < 40; step++) {
        expect(ctx.isRepeated()).toBe(vllmRepeated(scope, w, maxHistory, prompt, gen))
        const t = Math.floor(rng() * 4) // tiny vocabulary: many repeats
        ctx.push(t)
        gen.push(t)
      }
    }
  })
})
