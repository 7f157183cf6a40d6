// vLLM native watermarking: our schemes must reproduce vLLM's detectors and generation exactly.
import { describe, expect, it } from 'vitest'
import { loadVectors } from '../../test/vectors.ts'
import { createScheme } from './registry.ts'

const v = loadVectors('vllm.json')
const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)))

describe('vLLM detectors (golden vectors)', () => {
  const cases = [
    ...v.gumbel_detection.map((c: any) => ({ ...c, preset: 'vllm-gumbel' })),
    ...v.red_green_detection.map((c: any) => ({ ...c, preset: 'vllm-redgreen' })),
    ...v.dual_key_detection.map((c: any) => ({ ...c, preset: 'vllm-dual-key-gumbel' })),
    ...v.vllm_golden_crosscheck.map((c: any) => ({
      ...c,
      name: c.golden_id,
      preset: c.algorithm === 'dual_key_gumbel' ? 'vllm-dual-key-gumbel' : 'vllm-gumbel',
    })),
  ]
  for (const c of cases) {
    it(`${c.name} (${c.preset})`, () => {
      const scheme = createScheme(c.preset, {
        key: c.key_str,
        vocabSize: 1 << 20,
        contextWidth: c.context_width,
        gamma: c.gamma,
        alpha: c.alpha ?? undefined,
        pValueThreshold: c.p_value_threshold,
      })
      const r = scheme.detect(c.tokens, { dedup: c.deduplicate_contexts, perToken: true })
      expect(r.scored).toBe(c.expected.num_scored_tokens)
      expect(rel(r.statistic, c.expected.score)).toBeLessThan(1e-12)
      expect(rel(r.pValue, c.expected.p_value)).toBeLessThan(1e-9)
      expect(r.watermarked).toBe(c.expected.is_watermarked)
      if (c.scored_positions) {
        const counted = r.perToken!.flatMap((t, i) => (t.counted ? [i] : []))
        expect(counted).toEqual(c.scored_positions)
      }
      if (c.green_flags_of_scored) {
        expect(r.perToken!.filter((t) => t.counted).map((t) => t.score)).toEqual(c.green_flags_of_scored)
      }
    })
  }
})

describe('vLLM Gumbel generation (golden vector)', () => {
  for (const c of v.generation_examples) {
    it(`reproduces ${c.tokens.length} generated tokens for key ${c.key_str}`, () => {
      const V = c.fixture.vocabulary_size
      const scheme = createScheme('vllm-gumbel', {
        key: c.key_str,
        vocabSize: V,
        contextWidth: c.context_width,
      })
      const wm = scheme.watermarker([1, 2, 3])
      const out: number[] = []
      for (let pos = 0; pos < c.fixture.num_tokens; pos++) {
        const logits = new Float32Array(V)
        for (let t = 0; t < V; t++) {
          logits[t] = (((t * 37 + pos * 17) % 131) - 56) / 16
          if (t === c.fixture.dominant_token) logits[t] += c.fixture.dominant_bias
        }
        out.push(wm.next(logits, () => 0.5))
      }
      expect(out).toEqual(c.tokens)
      const r = scheme.detect(out)
      expect(r.watermarked).toBe(true)
    })
  }
})
