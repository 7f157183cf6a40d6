// The per-token hot loops of detection, behind one interface so the WebAssembly kernel and its
// JavaScript reference are interchangeable (and parity-tested against each other).

export type SynthidVariant = 'table' | '2025'

export interface ScoringKernel {
  readonly name: string
  /**
   * What one mtGreenOneSeed pass over a few ids costs, in single-id mtGreen walks, on this kernel
   * (default 2.5: the WASM kernel's). Generation walks contenders one by one until that would cost more.
   */
  readonly trackingPassWalks?: number
  /**
   * out[i] = 1 where position i's context — the `width` ids before it, −1 before the start —
   * (plus tokens[i] itself when `withToken`) occurs for the first time in the sequence.
   * Returns the number of first occurrences.
   */
  firstOccurrence(tokens: Int32Array, width: number, withToken: boolean, out: Uint8Array): number
  /** out[i] = Philox uniform of (key, the `width` ids before i with −1 padding, tokens[i]). */
  philoxUniforms(tokens: Int32Array, width: number, k0: number, k1: number, out: Float32Array): void
  /** out[i] = 1 iff tokens[i] ∈ torch CPU randperm(seed = seeds[i], vocab)[0 : greenCount]. */
  mtGreen(seeds: Uint32Array, tokens: Int32Array, vocab: number, greenCount: number, out: Uint8Array): void
  /**
   * out[j] = 1 iff ids[j] ∈ torch CPU randperm(seed, vocab)[0 : greenCount]: many ids under ONE seed
   * in a single pass of the Fisher–Yates steps (ids out of range are red; repeats are allowed).
   */
  mtGreenOneSeed(seed: number, ids: Int32Array, vocab: number, greenCount: number, out: Uint8Array): void
  /**
   * The whole greenlist of one seed: bit p of out (⌈vocab/32⌉ words, bit p & 31 of word p >> 5) is set
   * iff p ∈ torch CPU randperm(seed, vocab)[0 : greenCount]. Costs about a tracking pass plus the
   * permutation's memory traffic: worth it for a seed that recurs (see core/schemes/greenlist-cache.ts).
   */
  mtGreenBitmap(seed: number, vocab: number, greenCount: number, out: Uint32Array): void
  /**
   * SynthID g-values for every `stride`-th position i = contextLen + r·stride < tokens.length (n-gram =
   * tokens[i−contextLen .. i]): out[r·depth + l] for layer l, depth = keys.length. Stride 1 scores a
   * text; stride contextLen + 1 scores candidates laid out as [context, candidate] blocks.
   */
  synthidGValues(
    tokens: Int32Array,
    contextLen: number,
    keys: readonly number[],
    variant: SynthidVariant,
    out: Uint8Array,
    stride?: number,
  ): void
}
