// Platform-neutral adapter from the AssemblyScript kernel (wasm/assembly/index.ts) to ScoringKernel.
// No Node APIs: a Cloudflare Worker passes the WebAssembly.Module its bundler gives for
// `import m from './kernel.wasm'`; Node goes through wasm/node.ts.
//
// We instantiate directly instead of importing the generated raw bindings (wasm/build/kernel.js):
// they are a thin pass-through for this raw-pointer API, and wasm/build/ is a gitignored build
// output that typechecking must not depend on.
import type { ScoringKernel, SynthidVariant } from '../core/kernel/types.ts'
import { synthidIv2025, synthidTable } from '../core/prf/synthid.ts'

/** The exports of wasm/build/kernel.wasm (pointers are byte offsets into `memory`). */
interface KernelExports {
  memory: WebAssembly.Memory
  heapBase(): number
  synthidTablePtr(): number
  firstOccurrence(
    tokens: number,
    n: number,
    width: number,
    withToken: number,
    out: number,
    scratch: number,
  ): number
  philoxUniforms(tokens: number, n: number, width: number, k0: number, k1: number, out: number): void
  mtDivTable(table: number, cap: number, vocab: number, count: number): void
  mtGreen(
    seeds: number,
    tokens: number,
    n: number,
    vocab: number,
    greenCount: number,
    div: number,
    cap: number,
    out: number,
  ): void
  mtInverseTable(inv: number, vocab: number, count: number): void
  mtGreenOneSeed(
    seed: number,
    ids: number,
    n: number,
    vocab: number,
    green: number,
    inv: number,
    marked: number,
    slot: number,
    pos: number,
    out: number,
  ): void
  mtGreenBitmap(seed: number, vocab: number, green: number, inv: number, perm: number, bits: number): void
  synthidGValues(
    tokens: number,
    n: number,
    contextLen: number,
    keys: number,
    depth: number,
    variant: number,
    out: number,
    stride: number,
  ): number
}

const PAGE = 65536
const DIV_ENTRY = 12 // bytes per mtDivTable entry (three u32 arrays of divCap)
const INV_ENTRY = 4 // bytes per mtInverseTable entry (u32)
const align = (x: number) => (x + 15) & ~15 // keeps every region 16-byte aligned

function checkCount(name: string, v: number, max = 0x7fffffff): void {
  if (!(Number.isInteger(v) && v >= 0 && v <= max)) throw new RangeError(`wasm kernel: bad ${name} ${v}`)
}

function checkOut(out: { length: number }, need: number): void {
  if (out.length < need)
    throw new RangeError(`wasm kernel: output buffer too small (${out.length} < ${need})`)
}

export async function createWasmKernel(module: WebAssembly.Module): Promise<ScoringKernel> {
  const instance = await WebAssembly.instantiate(module, { env: {} })
  const x = instance.exports as unknown as KernelExports
  const memory = x.memory
  const base = x.heapBase() >>> 0

  // Layout above heapBase: [mtDivTable cache (divCap entries)][mtInverseTable cache (invCap u32)]
  // [marked bitmap + slot array for trackVocab ids, kept all-zero between calls][per-call inputs,
  // outputs, scratch]. Growing any cached region lays the rest out again.
  let divCap = 0
  let divVocab = -1
  let divCount = 0
  let invCap = 0
  let invVocab = -1
  let invCount = 0
  let trackVocab = 0
  let pInv = base
  let pMarked = base
  let pSlot = base
  let dyn = base

  const ensure = (end: number) => {
    if (end > 0xffff0000) throw new RangeError('wasm kernel: input too large for 4 GiB linear memory')
    const have = memory.buffer.byteLength
    if (end > have) memory.grow(Math.ceil((end - have) / PAGE))
  }

  const relayout = () => {
    pInv = align(base + DIV_ENTRY * divCap)
    pMarked = align(pInv + INV_ENTRY * invCap)
    pSlot = align(pMarked + 4 * Math.ceil(trackVocab / 32))
    dyn = align(pSlot + 4 * trackVocab)
    ensure(dyn)
    new Uint8Array(memory.buffer, pMarked, dyn - pMarked).fill(0)
    invVocab = -1 // the inverse table moved or grew: recompute on next use
  }

  /** Sizes the tracking scratch for (vocab, greenCount) and fills the reciprocal table. */
  const prepareTracking = (vocab: number, greenCount: number) => {
    if (greenCount > invCap || vocab > trackVocab) {
      invCap = (Math.max(invCap, greenCount) + 3) & ~3 // SIMD reads four entries at a time
      trackVocab = Math.max(trackVocab, vocab)
      relayout()
    }
    if (!(vocab === invVocab && greenCount <= invCount)) {
      x.mtInverseTable(pInv, vocab, greenCount)
      invVocab = vocab
      invCount = greenCount
    }
  }

  new Uint8Array(memory.buffer, x.synthidTablePtr() >>> 0, 65536).set(synthidTable())

  return {
    name: 'wasm',

    firstOccurrence(tokens, width, withToken, out) {
      const n = tokens.length
      checkCount('width', width)
      checkOut(out, n)
      const pTok = dyn
      const pOut = align(pTok + 4 * n)
      const pScratch = align(pOut + n)
      // The kernel grows memory itself for its scratch (about 16 bytes per token).
      ensure(pScratch)
      new Int32Array(memory.buffer, pTok, n).set(tokens)
      const count = x.firstOccurrence(pTok, n, width, withToken ? 1 : 0, pOut, pScratch)
      if (count < 0) throw new RangeError('wasm kernel: out of memory')
      out.set(new Uint8Array(memory.buffer, pOut, n))
      return count
    },

    philoxUniforms(tokens, width, k0, k1, out) {
      const n = tokens.length
      checkCount('width', width)
      checkOut(out, n)
      const pTok = dyn
      const pOut = align(pTok + 4 * n)
      ensure(pOut + 4 * n)
      new Int32Array(memory.buffer, pTok, n).set(tokens)
      x.philoxUniforms(pTok, n, width, k0 | 0, k1 | 0, pOut)
      out.set(new Float32Array(memory.buffer, pOut, n))
    },

    mtGreen(seeds, tokens, vocab, greenCount, out) {
      const n = tokens.length
      checkCount('vocab', vocab)
      if (!Number.isInteger(greenCount)) throw new RangeError(`wasm kernel: bad greenCount ${greenCount}`)
      if (seeds.length < n) throw new RangeError('wasm kernel: fewer seeds than tokens')
      checkOut(out, n)
      // The divisibility table covers steps 0 .. greenCount − 1 (only used when 0 < greenCount < vocab).
      const steps = greenCount > 0 && greenCount < vocab ? greenCount : 0
      if (steps > 0 && !(vocab === divVocab && steps <= divCount)) {
        if (steps > divCap) {
          divCap = (steps + 3) & ~3 // SIMD reads four entries at a time
          relayout()
        }
        x.mtDivTable(base, divCap, vocab, steps)
        divVocab = vocab
        divCount = steps
      }
      const pSeed = dyn
      const pTok = align(pSeed + 4 * n)
      const pOut = align(pTok + 4 * n)
      ensure(pOut + n)
      new Uint32Array(memory.buffer, pSeed, n).set(seeds.subarray(0, n))
      new Int32Array(memory.buffer, pTok, n).set(tokens)
      x.mtGreen(pSeed, pTok, n, vocab, greenCount, base, divCap, pOut)
      out.set(new Uint8Array(memory.buffer, pOut, n))
    },

    mtGreenOneSeed(seed, ids, vocab, greenCount, out) {
      const n = ids.length
      checkCount('vocab', vocab)
      if (!Number.isInteger(greenCount)) throw new RangeError(`wasm kernel: bad greenCount ${greenCount}`)
      checkOut(out, n)
      if (greenCount <= 0 || greenCount >= vocab) {
        for (let j = 0; j < n; j++) out[j] = greenCount > 0 && ids[j] >= 0 && ids[j] < vocab ? 1 : 0
        return
      }
      prepareTracking(vocab, greenCount)
      const pIds = dyn
      const pPos = align(pIds + 4 * n)
      const pOut = align(pPos + 4 * n)
      ensure(pOut + n)
      new Int32Array(memory.buffer, pIds, n).set(ids)
      x.mtGreenOneSeed(seed >>> 0, pIds, n, vocab, greenCount, pInv, pMarked, pSlot, pPos, pOut)
      out.set(new Uint8Array(memory.buffer, pOut, n))
    },

    mtGreenBitmap(seed, vocab, greenCount, out) {
      checkCount('vocab', vocab)
      if (!Number.isInteger(greenCount)) throw new RangeError(`wasm kernel: bad greenCount ${greenCount}`)
      const words = Math.ceil(vocab / 32)
      checkOut(out, words)
      if (greenCount <= 0 || greenCount >= vocab) {
        out.fill(0, 0, words)
        if (greenCount > 0) for (let p = 0; p < vocab; p++) out[p >>> 5] |= 1 << (p & 31)
        return
      }
      prepareTracking(vocab, greenCount)
      const pBits = dyn
      ensure(pBits + 4 * words)
      // The slot array (vocab u32, all zero) serves as the permutation; the kernel zeroes it again.
      x.mtGreenBitmap(seed >>> 0, vocab, greenCount, pInv, pSlot, pBits)
      out.set(new Uint32Array(memory.buffer, pBits, words))
    },

    synthidGValues(tokens, contextLen, keys, variant: SynthidVariant, out, stride = 1) {
      const n = tokens.length
      checkCount('contextLen', contextLen)
      if (!(Number.isInteger(stride) && stride >= 1))
        throw new RangeError(`wasm kernel: bad stride ${stride}`)
      const depth = keys.length
      const rows = n > contextLen ? Math.floor((n - contextLen - 1) / stride) + 1 : 0
      checkOut(out, rows * depth)
      if (rows === 0) return
      for (const k of keys) {
        if (!Number.isSafeInteger(k)) throw new RangeError(`synthid: key ${k} is not a safe integer`)
      }
      const pTok = dyn
      const pKeys = align(pTok + 4 * n)
      const pOut = align(pKeys + 8 * (depth + 1))
      ensure(pOut + rows * depth)
      new Int32Array(memory.buffer, pTok, n).set(tokens)
      // [h0, keys…] as int64; h0 = 1 for the table variant, the SHA-256 IV for 2025.
      const kv = new BigInt64Array(memory.buffer, pKeys, depth + 1)
      kv[0] = variant === 'table' ? 1n : synthidIv2025(keys)
      for (let l = 0; l < depth; l++) kv[l + 1] = BigInt(keys[l])
      const bad = x.synthidGValues(
        pTok,
        n,
        contextLen,
        pKeys,
        depth,
        variant === 'table' ? 0 : 1,
        pOut,
        stride,
      )
      if (bad >= 0) throw new RangeError(`synthid: bad token id ${tokens[bad]}`)
      out.set(new Uint8Array(memory.buffer, pOut, rows * depth))
    },
  }
}
