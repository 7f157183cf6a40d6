// Open-addressing hash tables of the fast encoder, built at compile time and stored in the
// .bin so loading is a few views instead of ~400k inserts. Linear probing; a slot holds
// index + 1 (0 = empty); sizes are powers of two at most ~60% full.

// murmur3 finaliser: the index takes the low bits, so they must depend on every input bit
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return h ^ (h >>> 16)
}

export function pairHash(a: number, b: number): number {
  return mix(Math.imul(a, 0x9e3779b1) + b)
}

export function bytesHash(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i], 0x01000193)
  return mix(h)
}

function tableSize(n: number): number {
  let size = 1024
  while (size < n * 1.6) size <<= 1
  return size
}

/** Slots over merges [left, right, result]*: slot = rank + 1, keyed by (left, right). */
export function buildMergeTable(merges: Int32Array): Int32Array {
  const n = merges.length / 3
  const slots = new Int32Array(tableSize(n))
  const mask = slots.length - 1
  for (let r = 0; r < n; r++) {
    let h = pairHash(merges[3 * r], merges[3 * r + 1]) & mask
    while (slots[h] !== 0) h = (h + 1) & mask
    slots[h] = r + 1
  }
  return slots
}

/** Slots over symbols with an output id: slot = symbol + 1, keyed by the symbol's bytes. */
export function buildWordTable(
  symOffsets: Uint32Array,
  symBytes: Uint8Array,
  symOut: Int32Array,
): Int32Array {
  let n = 0
  for (let s = 0; s < symOut.length; s++) if (symOut[s] >= 0) n++
  const slots = new Int32Array(tableSize(n))
  const mask = slots.length - 1
  for (let s = 0; s < symOut.length; s++) {
    if (symOut[s] < 0) continue
    let h = bytesHash(symBytes, symOffsets[s], symOffsets[s + 1]) & mask
    while (slots[h] !== 0) h = (h + 1) & mask
    slots[h] = s + 1
  }
  return slots
}
