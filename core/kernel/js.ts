// The JavaScript reference kernel: written for clarity, it is what the WASM kernel must equal.
import { philoxContextState, philoxTokenWord, philoxUniform } from '../prf/philox.ts'
import { synthidGValues } from '../prf/synthid.ts'
import { MT19937, RandpermPrefixTracker, inRandpermPrefixMt } from '../prf/torch-mt19937.ts'
import type { ScoringKernel, SynthidVariant } from './types.ts'

const contextAt = (tokens: Int32Array, i: number, width: number) => (j: number) => {
  const p = i - width + j
  return p >= 0 ? tokens[p] : -1
}

// One tracker per (vocab, greenCount): its scratch (a V-bit bitmap, a V-entry slot array) is reused.
let tracker: RandpermPrefixTracker | null = null
const trackerFor = (vocab: number, greenCount: number) => {
  if (tracker?.n !== vocab || tracker.prefix !== greenCount)
    tracker = new RandpermPrefixTracker(vocab, greenCount)
  return tracker
}

export const jsKernel: ScoringKernel = {
  name: 'js',

  firstOccurrence(tokens, width, withToken, out) {
    const seen = new Set<string>()
    let count = 0
    for (let i = 0; i < tokens.length; i++) {
      const at = contextAt(tokens, i, width)
      const ids: number[] = []
      for (let j = 0; j < width; j++) ids.push(at(j))
      if (withToken) ids.push(tokens[i])
      const key = ids.join(',')
      const first = !seen.has(key)
      if (first) {
        seen.add(key)
        count++
      }
      out[i] = first ? 1 : 0
    }
    return count
  },

  philoxUniforms(tokens, width, k0, k1, out) {
    const key = { k0, k1 }
    const state = new Uint32Array(4)
    for (let i = 0; i < tokens.length; i++) {
      philoxContextState(key, width, contextAt(tokens, i, width), state)
      out[i] = philoxUniform(philoxTokenWord(key, state, tokens[i]))
    }
  },

  mtGreen(seeds, tokens, vocab, greenCount, out) {
    const mt = new MT19937(0)
    for (let i = 0; i < tokens.length; i++) {
      mt.reseed(seeds[i])
      out[i] = inRandpermPrefixMt(mt, vocab, greenCount, tokens[i]) ? 1 : 0
    }
  },

  mtGreenOneSeed(seed, ids, vocab, greenCount, out) {
    trackerFor(vocab, greenCount).flags(seed, ids, ids.length, out)
  },

  mtGreenBitmap(seed, vocab, greenCount, out) {
    trackerFor(vocab, greenCount).bitmap(seed, out)
  },

  synthidGValues(tokens, contextLen, keys, variant: SynthidVariant, out, stride = 1) {
    const depth = keys.length
    for (let i = contextLen, r = 0; i < tokens.length; i += stride, r++) {
      const g = synthidGValues(variant, keys, Array.from(tokens.subarray(i - contextLen, i + 1)))
      out.set(g, r * depth)
    }
  },
}
