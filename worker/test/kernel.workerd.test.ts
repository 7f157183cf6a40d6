// The WASM kernel inside workerd (its V8, its SIMD lowering): the torch-MT19937 greenlist entry points
// against the JavaScript reference, at Qwen3's vocabulary.
import { describe, expect, it } from 'vitest'
import { jsKernel } from '../../core/kernel/js.ts'
import { seededRng } from '../../core/rng.ts'
import kernelModule from '../../wasm/build/kernel.wasm'
import { createWasmKernel } from '../../wasm/kernel.ts'

const V = 151_936

describe('WASM kernel in workerd', () => {
  it('one-seed tracking pass and greenlist bitmap equal the per-id walk of the JS reference', async () => {
    const wasm = await createWasmKernel(kernelModule)
    const r = seededRng(8)
    for (const green of [37_984, 75_968]) {
      const seed = Math.floor(r() * 2 ** 32)
      const ids = Int32Array.from({ length: 40 }, () => Math.floor(r() * V))
      const want = new Uint8Array(ids.length)
      jsKernel.mtGreen(new Uint32Array(ids.length).fill(seed), ids, V, green, want)
      const tracked = new Uint8Array(ids.length)
      wasm.mtGreenOneSeed(seed, ids, V, green, tracked)
      expect(tracked).toEqual(want)
      const bits = new Uint32Array(Math.ceil(V / 32))
      wasm.mtGreenBitmap(seed, V, green, bits)
      expect(Uint8Array.from(ids, (p) => (bits[p >>> 5] >>> (p & 31)) & 1)).toEqual(want)
    }
  })
})
