// Power of the Philox-keyed presets (vLLM red/green, Gumbel, dual-key) and Unigram on the simulated LM.
import { describe, expect, it } from 'vitest'
import { powerRun } from './power.ts'

describe.each(['vllm-redgreen', 'unigram', 'vllm-gumbel', 'vllm-dual-key-gumbel'])('power of %s', (name) => {
  it('flags ≥ 99 % of 200-token texts at p < 1e-6, and none with a wrong key', { timeout: 240_000 }, () => {
    const [row] = powerRun(name, {}, [200], 100)
    console.log(JSON.stringify(row))
    expect(row.rate1e6).toBeGreaterThanOrEqual(0.99)
    expect(row.wrongKeyRate1e3).toBeLessThanOrEqual(0.02)
  })
})
