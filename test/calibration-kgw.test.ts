// Calibration of the torch-MT19937 (KGW-family) presets on Brown: membership costs O(γV) MT draws
// per token, so this uses 1,300 windows (the 99 % interval of α is then [5, 23] false positives)
// with the WASM kernel, one key per window (hf-selfhash: 4 windows per key).
import { describe, expect, it } from 'vitest'
import { loadWasmKernel } from '../wasm/node.ts'
import { ALPHA, binomialInterval99, calibrate, testKeys } from './calibration.ts'
import { brownWindows } from './fixtures/brown-tokens.ts'

const V = 128_256
const windows = brownWindows('llama3', 200, 1300)
const kernel = await loadWasmKernel()

describe('false-positive rate of the KGW presets on Brown (α = 0.01, 200-token windows)', () => {
  it.each([
    ['kgw-lefthash', 0.25],
    ['kgw-selfhash', 0.25],
    ['hf-selfhash', 0.25],
    ['markllm-kgw', 0.5],
  ] as const)('%s', { timeout: 400_000 }, (name, gamma) => {
    // hf-selfhash builds a 1,000,003-entry table per key (~0.1 s, more on a loaded CI machine):
    // 130 keys × 5 windows (650 windows; the 99 % interval of α is then [1, 13]).
    const hf = name === 'hf-selfhash'
    const keys = testKeys(hf ? 130 : 1300, 2)
    const row = calibrate(
      name,
      hf ? windows.slice(0, 650) : windows,
      keys,
      V,
      Math.floor(gamma * V) / V,
      {},
      kernel,
    )
    console.log(JSON.stringify(row))
    expect(row.falsePositives).toBeLessThanOrEqual(binomialInterval99(row.windows, ALPHA)[1])
    expect(row.falsePositives).toBeGreaterThanOrEqual(binomialInterval99(row.windows, row.expected)[0])
  })
})
