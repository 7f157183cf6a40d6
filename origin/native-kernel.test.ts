// The native membership walk gives the WASM kernel's bits (which the golden vectors pin to torch's
// randperm), on the vocabulary generation uses and on the edges: tiny vocabularies, greenlists of 0, 1,
// V − 1 and ≥ V ids, tokens out of range, tokens whose own position comes up during the walk.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { nextToken } from '../core/generation/next-token.ts'
import { seededRng } from '../core/rng.ts'
import { createScheme, getPreset } from '../core/schemes/registry.ts'
import { loadWasmKernel } from '../wasm/node.ts'
import { loadNativeWalk, originKernel, withNativeWalk } from './native-kernel.ts'

const cpuHasAvx512 = (): boolean => {
  try {
    // /proc/cpuinfo is Linux's; elsewhere the build is skipped for non-x64 anyway.
    return /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))
  } catch {
    return false
  }
}

const status = loadNativeWalk()
// In CI on a CPU that runs it, the walk must have been built and must load: a broken build is a failure
// there, not a silent fall back to WASM.
const required = process.env.CI === 'true' && process.arch === 'x64' && cpuHasAvx512()

describe('native membership walk (origin)', () => {
  it(`loads where it can run (${status.walk ? 'loaded' : status.reason})`, () => {
    if (required) expect(status.reason).toBeNull()
    if (!status.walk) expect(status.reason).toMatch(/not built|AVX-512|WMLAB_NATIVE_KERNEL|cannot load/)
    expect(loadNativeWalk({ WMLAB_NATIVE_KERNEL: '0' })).toEqual({
      walk: null,
      reason: 'WMLAB_NATIVE_KERNEL=0',
    })
  })

  it.skipIf(!status.walk)('gives the WASM kernel’s flags, token for token', async () => {
    const wasm = await loadWasmKernel()
    const native = withNativeWalk(wasm, status.walk!)
    const rng = seededRng(7)
    const u32 = () => Math.floor(rng() * 2 ** 32) >>> 0
    const cases: Array<[vocab: number, green: number, count: number]> = [
      [151_936, 37_984, 3000], // Qwen3's vocabulary, γ = 0.25: what generation walks
      [151_936, 75_968, 1000], // γ = 0.5
      [50_257, 12_564, 1000],
      [1000, 250, 2000],
      [1000, 999, 500], // every step but the last
      [33, 16, 2000], // fewer steps than one 16-lane vector after the first
      [17, 1, 500],
      [2, 1, 200],
      [100, 0, 100], // nothing green
      [100, 100, 100], // everything green
      [100, 150, 100],
    ]
    let greens = 0
    let total = 0
    for (const [vocab, green, count] of cases) {
      const seeds = new Uint32Array(count)
      const tokens = new Int32Array(count)
      for (let i = 0; i < count; i++) {
        seeds[i] = i % 97 === 0 ? [0, 0xffffffff, 1][i % 3] : u32()
        const r = rng()
        // Low ids are moved by the walk itself (their position comes up); a few are out of range.
        tokens[i] =
          r < 0.3
            ? Math.floor(rng() * Math.min(vocab, 40))
            : r < 0.32
              ? [-1, vocab, vocab + 7][i % 3]
              : Math.floor(rng() * vocab)
      }
      const a = new Uint8Array(count)
      const b = new Uint8Array(count)
      wasm.mtGreen(seeds, tokens, vocab, green, a)
      native.mtGreen(seeds, tokens, vocab, green, b)
      expect(Buffer.from(b).equals(Buffer.from(a)), `V=${vocab} green=${green}`).toBe(true)
      greens += a.reduce((s, x) => s + x, 0)
      total += count
    }
    // Not a degenerate all-red or all-green comparison.
    expect(greens / total).toBeGreaterThan(0.2)
    expect(greens / total).toBeLessThan(0.6)
  })

  it.skipIf(!status.walk)('rejects bad arguments with a RangeError, never reads past an array', async () => {
    const native = withNativeWalk(await loadWasmKernel(), status.walk!)
    const out = new Uint8Array(2)
    expect(() => native.mtGreen(Uint32Array.of(1), Int32Array.of(1, 2), 100, 25, out)).toThrow(RangeError)
    expect(() =>
      native.mtGreen(Uint32Array.of(1, 2), Int32Array.of(1, 2), 100, 25, new Uint8Array(1)),
    ).toThrow(RangeError)
    expect(() => native.mtGreen(Uint32Array.of(1, 2), Int32Array.of(1, 2), 2 ** 31, 25, out)).toThrow(
      RangeError,
    )
    expect(() => native.mtGreen(Uint32Array.of(1, 2), Int32Array.of(1, 2), 100, 0.5, out)).toThrow(RangeError)
    const raw = status.walk! as unknown as { mtGreen: (...a: unknown[]) => void }
    expect(() => raw.mtGreen(new Float32Array(2), Int32Array.of(1, 2), 100, 25, out)).toThrow(RangeError)
    expect(() => raw.mtGreen(Uint32Array.of(1, 2))).toThrow(RangeError)
  })

  it.skipIf(!status.walk)(
    'generates the same tokens as the WASM kernel (it walks where WASM runs tracking passes)',
    async () => {
      const wasm = await loadWasmKernel()
      const native = withNativeWalk(wasm, status.walk!)
      const V = 151_936
      const logits = new Float32Array(V)
      for (const name of ['kgw-lefthash', 'kgw-selfhash', 'hf-selfhash', 'markllm-kgw']) {
        const params = { ...getPreset(name).defaults, key: 0x5eed1234, vocabSize: V }
        const a = createScheme(name, params, { kernel: wasm }).watermarker([17, 4, 99, 250])
        const b = createScheme(name, params, { kernel: native }).watermarker([17, 4, 99, 250])
        const rngA = seededRng(11)
        const rngB = seededRng(11)
        const draw = seededRng(name.length)
        const textA: number[] = []
        const textB: number[] = []
        for (let t = 0; t < 80; t++) {
          for (let v = 0; v < V; v++) logits[v] = draw() * 6
          const sampling =
            t % 2 ? { temperature: 1, topK: 50, topP: 1 } : { temperature: 0.8, topK: 0, topP: 0.9 }
          textA.push(nextToken(logits, sampling, a, rngA))
          textB.push(nextToken(logits, sampling, b, rngB))
        }
        expect(textB, name).toEqual(textA)
        expect(new Set(textA).size, name).toBeGreaterThan(40) // a real sequence, not one token repeated
      }
    },
    60_000,
  )

  it('originKernel names what it runs', async () => {
    const wasm = await loadWasmKernel()
    const lines: string[] = []
    const k = originKernel(wasm, (l) => lines.push(l))
    expect(k.name).toBe(status.walk ? 'wasm+avx512' : 'wasm')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(status.walk ? 'native' : 'WASM')
  })
})
