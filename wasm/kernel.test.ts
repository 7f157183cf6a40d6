// Parity of the WebAssembly kernel with the JavaScript reference kernel (core/kernel/js.ts),
// plus golden values, stale-scratch checks and a multi-million-token input.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { jsKernel } from '../core/kernel/js.ts'
import type { ScoringKernel } from '../core/kernel/types.ts'
import { torchSeed } from '../core/prf/torch-mt19937.ts'
import { loadVectors } from '../test/vectors.ts'
import { KERNEL_WASM_URL, loadWasmKernel } from './node.ts'
import { seededRng } from '../core/rng.ts'

/** Fixed-seed uniforms (the project's seeded PRNG) so runs are reproducible. */
const rng = seededRng

const SPECIAL = [-1, 0, 1, 2, 3, 4, -2, -(2 ** 31), 2 ** 31 - 1, 2 ** 31 - 2, 0x7ffffffc]

/** Tokens from a small alphabet (so windows repeat) mixed with extreme ids. */
function tokensFor(r: () => number, n: number, alphabet: number, special = SPECIAL): Int32Array {
  const t = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const x = r()
    t[i] =
      x < 0.1
        ? special[Math.floor(r() * special.length)]
        : x < 0.2
          ? Math.floor(r() * 2 ** 31)
          : Math.floor(r() * alphabet)
  }
  return t
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
const bits = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length)

/**
 * Case c's vocabulary (tiny ones first, then random up to `big` every `bigEvery` cases, else up to
 * `small`) and a greenlist length including the edges: 0, 1, vocab − 1, vocab, beyond it, negative.
 */
function vocabAndGreen(r: () => number, c: number, small: number, big: number, bigEvery: number) {
  const vocab = c < 5 ? [1, 2, 3, 5, 20][c] : 1 + Math.floor(r() * (c % bigEvery === 0 ? big : small))
  const green = pick(r, [
    0,
    1,
    vocab - 1,
    vocab,
    vocab + 3,
    -1,
    Math.floor(r() * vocab),
    Math.floor(vocab / 4),
  ])
  return { vocab, green }
}

/** The golden KGW cases that list a seed's whole greenlist (small vocabularies). */
function fullGreenlists() {
  const v = loadVectors('torch-synthid.json')
  const full = (
    v.kgw_lefthash as { vocab: number; gamma: number; seed: string; greenlist?: number[] }[]
  ).filter((g) => g.greenlist)
  if (full.length === 0) throw new Error('torch-synthid.json lists no whole greenlist')
  return full.map((g) => ({
    vocab: g.vocab,
    greenCount: Math.floor(g.vocab * g.gamma),
    seed: torchSeed(BigInt(g.seed)),
    green: new Set(g.greenlist),
  }))
}

let wasm: ScoringKernel

beforeAll(async () => {
  wasm = await loadWasmKernel()
})

describe('wasm build', () => {
  it('kernel.wasm exists and is newer than its sources', () => {
    const wasmFile = fileURLToPath(KERNEL_WASM_URL)
    const built = statSync(wasmFile).mtimeMs
    const srcDir = fileURLToPath(new URL('./assembly/', import.meta.url))
    const sources = readdirSync(srcDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => srcDir + f)
    sources.push(fileURLToPath(new URL('./build.mjs', import.meta.url)))
    for (const s of sources) expect(built, s).toBeGreaterThanOrEqual(statSync(s).mtimeMs)
    expect(wasm.name).toBe('wasm')
  })

  it('SIMD uniform formula equals f32((m + 1) / 16777217) for all 2^24 mantissas', async () => {
    const { instance } = await WebAssembly.instantiate(readFileSync(KERNEL_WASM_URL), { env: {} })
    expect((instance.exports.uniformMismatches as () => number)()).toBe(0)
    // And the scalar formula is Math.fround of the same double division (spot check incl. ends).
    for (const m of [0, 1, 2, 8388607, 8388608, 16777214, 16777215]) {
      expect(Math.fround((m + 1) / 16777217)).toBe(new Float32Array([(m + 1) / 16777217])[0])
    }
  })
})

describe('firstOccurrence parity', () => {
  it('random sequences, widths 0..9, with and without the token', () => {
    const r = rng(1)
    for (let c = 0; c < 160; c++) {
      const n = c < 4 ? c : Math.floor(r() * (c % 10 === 0 ? 5000 : 300))
      const width = c % 10
      const withToken = r() < 0.5
      const tokens = tokensFor(r, n, 1 + Math.floor(r() * 12))
      const a = new Uint8Array(n).fill(7)
      const b = new Uint8Array(n).fill(7)
      const ca = jsKernel.firstOccurrence(tokens, width, withToken, a)
      const cb = wasm.firstOccurrence(tokens, width, withToken, b)
      expect(cb, `case ${c}`).toBe(ca)
      expect(b, `case ${c}`).toEqual(a)
    }
  })

  it('a constant sequence and an all −1 sequence (every window equal to the padding)', () => {
    for (const v of [5, -1]) {
      const tokens = new Int32Array(10_000).fill(v)
      for (const width of [0, 3, 4]) {
        const a = new Uint8Array(tokens.length)
        const b = new Uint8Array(tokens.length)
        expect(wasm.firstOccurrence(tokens, width, true, b)).toBe(
          jsKernel.firstOccurrence(tokens, width, true, a),
        )
        expect(b).toEqual(a)
      }
    }
  })
})

describe('philoxUniforms parity', () => {
  it('random sequences, widths 0..9, keys incl. 0 and 0xffffffff (bitwise)', () => {
    const r = rng(2)
    const keys: [number, number][] = [
      [0, 0],
      [0xffffffff, 0xffffffff],
      [42, 0],
      [0, 0xffffffff],
    ]
    for (let c = 0; c < 120; c++) {
      const n = c < 12 ? c : Math.floor(r() * 400)
      const width = c % 10
      const [k0, k1] =
        c < keys.length * 10 ? keys[c % keys.length] : [Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32)]
      const tokens = tokensFor(r, n, 50_000)
      const a = new Float32Array(n)
      const b = new Float32Array(n)
      jsKernel.philoxUniforms(tokens, width, k0, k1, a)
      wasm.philoxUniforms(tokens, width, k0, k1, b)
      expect(bits(b), `case ${c}`).toEqual(bits(a))
    }
  })

  it('matches the vLLM prf_words golden uniforms (scalar and SIMD paths)', () => {
    const v = loadVectors('vllm.json')
    for (const w of v.prf_words as {
      key_str: string
      context: number[]
      token: number
      uniform_f32_hex: string
    }[]) {
      const key = BigInt(w.key_str)
      const k0 = Number(key & 0xffffffffn)
      const k1 = Number(key >> 32n)
      const width = w.context.length
      // Leading −1s are the padding before the start of the sequence.
      let lead = 0
      while (lead < width && w.context[lead] === -1) lead++
      const tiny = Int32Array.from([...w.context.slice(lead), w.token])
      const expected = Number.parseInt(w.uniform_f32_hex, 16)
      const out = new Float32Array(tiny.length)
      wasm.philoxUniforms(tiny, width, k0, k1, out)
      expect(bits(out)[tiny.length - 1]).toBe(expected)
      if (lead === 0) {
        // Same context deep inside a longer sequence, at every SIMD lane.
        for (let pad = 8; pad < 12; pad++) {
          const long = Int32Array.from([...new Array(pad).fill(99), ...w.context, w.token, 5, 6, 7, 8])
          const o = new Float32Array(long.length)
          wasm.philoxUniforms(long, width, k0, k1, o)
          expect(bits(o)[pad + width]).toBe(expected)
        }
      }
    }
  })
})

describe('mtGreen parity', () => {
  it('random vocab / greenCount incl. 0, vocab − 1, vocab; extreme tokens and seeds', () => {
    const r = rng(3)
    const seedSpecial = [0, 1, 0xffffffff, 15485863, 0x80000000]
    for (let c = 0; c < 90; c++) {
      const { vocab, green: greenCount } = vocabAndGreen(r, c, 700, 4000, 9)
      const n = c < 4 ? c : Math.floor(r() * 40)
      const tokens = new Int32Array(n)
      const seeds = new Uint32Array(n)
      for (let i = 0; i < n; i++) {
        tokens[i] =
          r() < 0.15 ? pick(r, [-1, vocab, vocab - 1, 0, -(2 ** 31), 2 ** 31 - 1]) : Math.floor(r() * vocab)
        seeds[i] = r() < 0.2 ? pick(r, seedSpecial) : Math.floor(r() * 2 ** 32)
      }
      const a = new Uint8Array(n).fill(7)
      const b = new Uint8Array(n).fill(7)
      jsKernel.mtGreen(seeds, tokens, vocab, greenCount, a)
      wasm.mtGreen(seeds, tokens, vocab, greenCount, b)
      expect(b, `case ${c} vocab ${vocab} green ${greenCount}`).toEqual(a)
    }
  })

  it('full-size vocab: V = 32000, greenCount 8000, every token of a few seeds', () => {
    const r = rng(4)
    const n = 40
    const seeds = Uint32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32))
    const tokens = Int32Array.from({ length: n }, () => Math.floor(r() * 32000))
    const a = new Uint8Array(n)
    const b = new Uint8Array(n)
    jsKernel.mtGreen(seeds, tokens, 32000, 8000, a)
    wasm.mtGreen(seeds, tokens, 32000, 8000, b)
    expect(b).toEqual(a)
  })

  it('reproduces the torch greenlists (KGW lefthash, HF unit test)', () => {
    const v = loadVectors('torch-synthid.json')
    for (const g of v.kgw_lefthash as {
      vocab: number
      gamma: number
      seed: string
      greenlist_first10?: number[]
      greenlist?: number[]
    }[]) {
      const greenCount = Math.floor(g.vocab * g.gamma)
      const seed = torchSeed(BigInt(g.seed))
      const expectGreen = g.greenlist ?? g.greenlist_first10!
      const tokens = g.greenlist
        ? Int32Array.from({ length: g.vocab }, (_, i) => i)
        : Int32Array.from(expectGreen)
      const out = new Uint8Array(tokens.length)
      wasm.mtGreen(new Uint32Array(tokens.length).fill(seed), tokens, g.vocab, greenCount, out)
      for (const [i, t] of tokens.entries())
        expect(out[i], `token ${t}`).toBe(expectGreen.includes(t) ? 1 : 0)
    }
  })
})

describe('mtGreenOneSeed: many ids under one seed in one pass', () => {
  /** The per-id reference: one membership walk per id (jsKernel.mtGreen). */
  const perId = (seed: number, ids: Int32Array, vocab: number, green: number) => {
    const out = new Uint8Array(ids.length)
    jsKernel.mtGreen(new Uint32Array(ids.length).fill(seed), ids, vocab, green, out)
    return out
  }

  it('equals the per-id walk (JS tracker and WASM) for random vocab / greenCount, repeats and bad ids', () => {
    const r = rng(11)
    for (let c = 0; c < 120; c++) {
      const { vocab, green } = vocabAndGreen(r, c, 800, 5000, 7)
      const n = c < 3 ? c : Math.floor(r() * (c % 5 === 0 ? 400 : 60))
      const ids = new Int32Array(n)
      for (let j = 0; j < n; j++) {
        const x = r()
        ids[j] =
          x < 0.1
            ? pick(r, [-1, vocab, vocab - 1, 0, -(2 ** 31), 2 ** 31 - 1])
            : x < 0.25 && j > 0
              ? ids[Math.floor(r() * j)] // a repeat
              : Math.floor(r() * vocab)
      }
      const seed = r() < 0.2 ? pick(r, [0, 1, 0xffffffff, 0x80000000]) : Math.floor(r() * 2 ** 32)
      const want = perId(seed, ids, vocab, green)
      const a = new Uint8Array(n).fill(7)
      const b = new Uint8Array(n).fill(7)
      jsKernel.mtGreenOneSeed(seed, ids, vocab, green, a)
      wasm.mtGreenOneSeed(seed, ids, vocab, green, b)
      expect(a, `js case ${c} vocab ${vocab} green ${green}`).toEqual(want)
      expect(b, `wasm case ${c} vocab ${vocab} green ${green}`).toEqual(want)
    }
  })

  it('Qwen3-sized vocab: 300 ids at γ = 0.25 and 0.5, interleaved with mtGreen calls (shared scratch)', () => {
    const r = rng(12)
    for (const green of [37984, 75968, 37984]) {
      const ids = Int32Array.from({ length: 300 }, () => Math.floor(r() * 151936))
      const seed = Math.floor(r() * 2 ** 32)
      const b = new Uint8Array(ids.length)
      wasm.mtGreenOneSeed(seed, ids, 151936, green, b)
      const viaWalk = new Uint8Array(ids.length)
      wasm.mtGreen(new Uint32Array(ids.length).fill(seed), ids, 151936, green, viaWalk)
      expect(b).toEqual(viaWalk)
      const share = b.reduce((x, y) => x + y, 0) / ids.length
      expect(Math.abs(share - green / 151936)).toBeLessThan(0.1)
    }
  })

  it('every id of a small vocabulary gives exactly the torch greenlist', () => {
    for (const g of fullGreenlists()) {
      const ids = Int32Array.from({ length: g.vocab }, (_, i) => i)
      const out = new Uint8Array(g.vocab)
      wasm.mtGreenOneSeed(g.seed, ids, g.vocab, g.greenCount, out)
      for (const t of ids) expect(out[t], `token ${t}`).toBe(g.green.has(t) ? 1 : 0)
    }
  })
})

describe('mtGreenBitmap: the whole greenlist of one seed', () => {
  const bit = (b: Uint32Array, p: number) => (b[p >>> 5] >>> (p & 31)) & 1
  const popcount = (b: Uint32Array) => {
    let c = 0
    for (let w of b) for (; w; w &= w - 1) c++
    return c
  }

  it('equals the per-id walk on every id (JS and WASM) for random vocab / greenCount', () => {
    const r = rng(13)
    for (let c = 0; c < 60; c++) {
      const vocab = c < 4 ? [1, 2, 33, 64][c] : 1 + Math.floor(r() * (c % 6 === 0 ? 3000 : 500))
      const green = pick(r, [
        0,
        1,
        vocab - 1,
        vocab,
        vocab + 1,
        -2,
        Math.floor(r() * vocab),
        Math.floor(vocab / 4),
      ])
      const seed = Math.floor(r() * 2 ** 32)
      const ids = Int32Array.from({ length: vocab }, (_, i) => i)
      const want = new Uint8Array(vocab)
      jsKernel.mtGreen(new Uint32Array(vocab).fill(seed), ids, vocab, green, want)
      const words = Math.ceil(vocab / 32)
      for (const kernel of [jsKernel, wasm]) {
        const b = new Uint32Array(words + 1).fill(0xdeadbeef)
        kernel.mtGreenBitmap(seed, vocab, green, b)
        const got = Uint8Array.from(ids, (p) => bit(b, p))
        expect(got, `${kernel.name} case ${c} vocab ${vocab} green ${green}`).toEqual(want)
        expect(b[words]).toBe(0xdeadbeef) // nothing written past the bitmap
        // no bit set beyond the vocabulary in the last word
        expect(popcount(b.subarray(0, words))).toBe(want.reduce((x, y) => x + y, 0))
      }
    }
  })

  it('Qwen3-sized vocab: γV bits set, sampled ids agree with the walk, and the scratch is left clean', () => {
    const r = rng(14)
    const V = 151936
    for (const green of [37984, 75968]) {
      const seed = Math.floor(r() * 2 ** 32)
      const b = new Uint32Array(Math.ceil(V / 32))
      wasm.mtGreenBitmap(seed, V, green, b)
      expect(popcount(b)).toBe(green)
      const ids = Int32Array.from({ length: 400 }, () => Math.floor(r() * V))
      const walk = new Uint8Array(ids.length)
      wasm.mtGreen(new Uint32Array(ids.length).fill(seed), ids, V, green, walk)
      expect(Uint8Array.from(ids, (p) => bit(b, p))).toEqual(walk)
      // The tracking pass shares the permutation's scratch: it must still be all zero.
      const tracked = new Uint8Array(ids.length)
      wasm.mtGreenOneSeed(seed, ids, V, green, tracked)
      expect(tracked).toEqual(walk)
    }
  })

  it('reproduces the torch greenlist vector', () => {
    for (const g of fullGreenlists()) {
      const b = new Uint32Array(Math.ceil(g.vocab / 32))
      wasm.mtGreenBitmap(g.seed, g.vocab, g.greenCount, b)
      for (let p = 0; p < g.vocab; p++) expect(bit(b, p), `token ${p}`).toBe(g.green.has(p) ? 1 : 0)
    }
  })
})

describe('synthidGValues parity', () => {
  const DEFAULT_KEYS = [
    654, 400, 836, 123, 340, 443, 597, 160, 57, 29, 590, 639, 13, 715, 468, 990, 966, 226, 324, 585, 118, 504,
    421, 521, 129, 669, 732, 225, 90, 960,
  ]

  it('depth 1..30, both variants, context lengths 0..6, extreme keys', () => {
    const r = rng(5)
    const keySpecial = [0, -1, 1, 2 ** 53 - 1, -(2 ** 53 - 1), 0xffffffff, 2 ** 32, -(2 ** 32)]
    for (let c = 0; c < 120; c++) {
      const variant = c % 2 === 0 ? 'table' : '2025'
      const depth = 1 + (c % 30)
      const keys =
        c % 7 === 0
          ? DEFAULT_KEYS.slice(0, depth)
          : Array.from({ length: depth }, () =>
              r() < 0.3 ? pick(r, keySpecial) : Math.floor((r() - 0.5) * 2 ** 40),
            )
      const contextLen = c % 7
      const n = c < 16 ? c % 8 : Math.floor(r() * 200)
      const tokens = tokensFor(r, n, 256_000, [0, 1, 2 ** 31 - 1, 2 ** 31 - 2])
      const rows = Math.max(0, n - contextLen)
      const a = new Uint8Array(rows * depth).fill(7)
      const b = new Uint8Array(rows * depth).fill(7)
      jsKernel.synthidGValues(tokens, contextLen, keys, variant, a)
      wasm.synthidGValues(tokens, contextLen, keys, variant, b)
      expect(b, `case ${c} ${variant} depth ${depth}`).toEqual(a)
      // Every stride-th position: the same rows as stride 1, and nothing written past them.
      const stride = 2 + (c % 5)
      const strided = n > contextLen ? Math.floor((n - contextLen - 1) / stride) + 1 : 0
      const s = new Uint8Array(strided * depth + 3).fill(7)
      wasm.synthidGValues(tokens, contextLen, keys, variant, s, stride)
      for (let k = 0; k < strided; k++) {
        expect(s.subarray(k * depth, (k + 1) * depth)).toEqual(
          a.subarray(k * stride * depth, (k * stride + 1) * depth),
        )
      }
      expect(Array.from(s.subarray(strided * depth))).toEqual([7, 7, 7])
      const js = new Uint8Array(strided * depth + 3).fill(7)
      jsKernel.synthidGValues(tokens, contextLen, keys, variant, js, stride)
      expect(js).toEqual(s)
    }
  })

  it('matches the table-variant golden g-values', () => {
    const v = loadVectors('torch-synthid.json')
    const g = v.synthid_table_variant[0] as { keys: number[]; ngram: number[]; g_values: number[] }
    const out = new Uint8Array(g.keys.length)
    wasm.synthidGValues(Int32Array.from(g.ngram), g.ngram.length - 1, g.keys, 'table', out)
    expect(Array.from(out)).toEqual(g.g_values)
  })

  it('rejects negative token ids like the reference', () => {
    const tokens = Int32Array.from([1, 2, 3, -4, 5, 6])
    for (const variant of ['table', '2025'] as const) {
      const out = new Uint8Array(30 * 2)
      expect(() => jsKernel.synthidGValues(tokens, 4, DEFAULT_KEYS, variant, out)).toThrow(RangeError)
      expect(() => wasm.synthidGValues(tokens, 4, DEFAULT_KEYS, variant, out)).toThrow(RangeError)
    }
  })
})

describe('no stale scratch state', () => {
  it('long then short calls (and back) agree with the reference', () => {
    const r = rng(6)
    const lens = [3000, 5, 0, 1, 2000, 7, 4]
    for (const n of lens) {
      const tokens = tokensFor(r, n, 9)
      const a = new Uint8Array(n)
      const b = new Uint8Array(n)
      expect(wasm.firstOccurrence(tokens, 4, true, b)).toBe(jsKernel.firstOccurrence(tokens, 4, true, a))
      expect(b).toEqual(a)
      const fa = new Float32Array(n)
      const fb = new Float32Array(n)
      jsKernel.philoxUniforms(tokens, 3, 7, 9, fa)
      wasm.philoxUniforms(tokens, 3, 7, 9, fb)
      expect(bits(fb)).toEqual(bits(fa))
      const pos = tokens.map((t) => Math.abs(t) % 100_000)
      for (const [depth, variant] of [
        [30, 'table'],
        [3, '2025'],
      ] as const) {
        const keys = Array.from({ length: depth }, (_, l) => l * 31 + n)
        const ga = new Uint8Array(Math.max(0, n - 4) * depth)
        const gb = new Uint8Array(ga.length)
        jsKernel.synthidGValues(pos, 4, keys, variant, ga)
        wasm.synthidGValues(pos, 4, keys, variant, gb)
        expect(gb).toEqual(ga)
      }
    }
  })

  it('mtGreen across changing vocab / greenCount (cached divisibility table)', () => {
    const r = rng(7)
    for (const [vocab, green] of [
      [1000, 900],
      [1000, 100],
      [999, 100],
      [5000, 1200],
      [1000, 999],
      [50, 10],
    ]) {
      const n = 25
      const seeds = Uint32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32))
      const tokens = Int32Array.from({ length: n }, () => Math.floor(r() * vocab))
      const a = new Uint8Array(n)
      const b = new Uint8Array(n)
      jsKernel.mtGreen(seeds, tokens, vocab, green, a)
      wasm.mtGreen(seeds, tokens, vocab, green, b)
      expect(b, `vocab ${vocab} green ${green}`).toEqual(a)
    }
  })
})

describe('long inputs', () => {
  it('3 million tokens: first occurrences (vs a numeric-key Set) and sampled uniforms', () => {
    const n = 3_000_000
    const r = rng(8)
    const tokens = Int32Array.from({ length: n }, () => Math.floor(r() * 3000))
    const out = new Uint8Array(n)
    const count = wasm.firstOccurrence(tokens, 1, true, out)
    const seen = new Set<number>()
    let mismatches = 0
    for (let i = 0; i < n; i++) {
      const key = (i > 0 ? tokens[i - 1] + 1 : 0) * 4096 + tokens[i]
      const first = !seen.has(key)
      if (first) seen.add(key)
      if ((first ? 1 : 0) !== out[i]) mismatches++
    }
    expect(mismatches).toBe(0)
    expect(count).toBe(seen.size)

    const u = new Float32Array(n)
    wasm.philoxUniforms(tokens, 4, 1234, 5678, u)
    for (const i of [0, 1, 3, 4, 5, 1_234_567, n - 5, n - 1]) {
      // The last position of tokens[i − 4 .. i] sees the same (possibly padded) context.
      const s = Math.max(0, i - 4)
      const ref = new Float32Array(i - s + 1)
      jsKernel.philoxUniforms(tokens.subarray(s, i + 1), 4, 1234, 5678, ref)
      expect(u[i], `position ${i}`).toBe(ref[i - s])
    }
  })
})
