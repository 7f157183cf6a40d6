// Power: each KGW-family preset's generation step followed by its detection on a simulated LM
// (mean entropy ≈ 2.5 nats): p < 1e-6 at 200 tokens in ≥ 99 % of 100 trials; a wrong key is not flagged.
import { describe, expect, it } from 'vitest'
import { entropy, simulatedLogits } from './simulated-lm.ts'
import { powerRun, VOCAB } from './power.ts'

describe('simulated LM', () => {
  it('has a mean next-token entropy between 2 and 3 nats', () => {
    let h = 0
    for (let s = 0; s < 300; s++) h += entropy(simulatedLogits(VOCAB, s % 7, s))
    expect(h / 300).toBeGreaterThan(2)
    expect(h / 300).toBeLessThan(3)
  })
})

describe.each(['kgw-lefthash', 'kgw-selfhash', 'hf-selfhash', 'markllm-kgw'])('power of %s', (name) => {
  it('flags ≥ 99 % of 200-token texts at p < 1e-6, and none with a wrong key', { timeout: 240_000 }, () => {
    const [row] = powerRun(name, {}, [200], 100)
    console.log(JSON.stringify(row))
    expect(row.rate1e6).toBeGreaterThanOrEqual(0.99)
    expect(row.wrongKeyRate1e3).toBeLessThanOrEqual(0.02)
  })
})
