// Copy-paste dilution: a watermarked span inside human text. Windowed detection (Bonferroni over
// the windows tried) finds it where the whole-text test is diluted.
import { describe, expect, it } from 'vitest'
import { createScheme } from '../core/schemes/registry.ts'
import { brownWindows } from './fixtures/brown-tokens.ts'
import { generate } from './simulated-lm.ts'

const VOCAB_SIM = 128_256

describe('windowed detection', () => {
  const human = brownWindows('llama3', 1200, 2)
  it.each(['vllm-gumbel', 'vllm-redgreen'])(
    '%s finds an 80-token watermarked span in 2,400 human tokens',
    (name) => {
      const scheme = createScheme(name, { key: 77n, vocabSize: VOCAB_SIM })
      const span = generate(scheme, VOCAB_SIM, 3, 80)
      const tokens = [...human[0], ...span, ...human[1]]
      const whole = scheme.detect(tokens)
      const windowed = scheme.detect(tokens, { windowed: true })
      expect(windowed.window!.logPValue).toBeLessThan(whole.logPValue)
      expect(windowed.window!.pValue).toBeLessThan(1e-4)
      expect(windowed.watermarked).toBe(true)
      // The best window overlaps the planted span [1200, 1280).
      expect(windowed.window!.start).toBeLessThan(1280)
      expect(windowed.window!.end).toBeGreaterThan(1200)
      expect(windowed.window!.windowsTried).toBeGreaterThan(10)
    },
  )
  it('does not flag human text alone', () => {
    const scheme = createScheme('vllm-gumbel', { key: 77n, vocabSize: VOCAB_SIM })
    for (const w of brownWindows('llama3', 600, 20))
      expect(scheme.detect(w, { windowed: true }).window!.pValue).toBeGreaterThan(1e-4)
  })
})
