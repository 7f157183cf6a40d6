// The candidate-based decoding step against the full-vocabulary path it replaces: for every scheme the
// same token for the same rng on random logit vectors, filters and −Infinity masks. The references
// below are the per-step full-vector implementations (filter into a V-sized copy, a full randperm or
// PRF row, a V-sized softmax), kept here as the specification.
import { beforeAll, describe, expect, it } from 'vitest'
import { simulatedLogits } from '../../test/simulated-lm.ts'
import { loadWasmKernel } from '../../wasm/node.ts'
import { jsKernel } from '../kernel/js.ts'
import type { ScoringKernel } from '../kernel/types.ts'
import { deriveWatermarkKey, philoxUniformsForCandidates, splitKey } from '../prf/philox.ts'
import { synthidContextHash, synthidGValuesForCandidates } from '../prf/synthid.ts'
import { inRandpermPrefix, randperm, torchSeed } from '../prf/torch-mt19937.ts'
import { seededRng } from '../rng.ts'
import { GUMBEL_CANDIDATES, type KgwScheme } from '../schemes/kgw.ts'
import { createScheme, getPreset, schemeNames } from '../schemes/registry.ts'
import { argmax, negligibleBelow, sampleCategorical, softmax, topIds } from '../schemes/sampling.ts'
import { ContextRepetitionTracker, tournamentUpdate } from '../schemes/synthid-core.ts'
import type { SynthidScheme } from '../schemes/synthid.ts'
import type { Rng, WatermarkScheme } from '../schemes/types.ts'
import { GeneratedContext } from '../schemes/vllm-context.ts'
import { type StepSampling, filterCandidates, nextToken } from './next-token.ts'

const V = 2000
const KEY = 0x5eed1234

/** The full-vector filter: temperature, then top-k (ties at the k-th kept), then top-p. */
function filterFull(logits: Float32Array, s: StepSampling): Float32Array {
  const out = new Float32Array(logits.length)
  const inv = 1 / s.temperature
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] * inv
  if (s.topK > 0 && s.topK < out.length) {
    const finite = Array.from(out).filter((v) => v !== -Infinity)
    if (finite.length > s.topK) {
      const kth = finite.sort((a, b) => b - a)[s.topK - 1]
      for (let i = 0; i < out.length; i++) if (out[i] < kth) out[i] = -Infinity
    }
  }
  if (s.topP < 1) {
    const p = softmax(out)
    const ids: number[] = []
    for (let i = 0; i < p.length; i++) if (p[i] > 0) ids.push(i)
    ids.sort((a, b) => p[b] - p[a] || a - b)
    let acc = 0
    let keep = 0
    while (keep < ids.length && acc < s.topP) acc += p[ids[keep++]]
    for (let j = keep; j < ids.length; j++) out[ids[j]] = -Infinity
  }
  return out
}

type FullStep = (filtered: Float32Array, rng: Rng) => number

/** Each scheme's generation step on the full filtered vector, as the references define it. */
function fullReference(name: string, scheme: WatermarkScheme, params: any, prompt: number[]): FullStep {
  const family = getPreset(name).family
  if (name === 'unigram') {
    const perm = randperm(BigInt(params.key), V)
    const green = new Uint8Array(V)
    for (let i = 0; i < Math.floor(params.gamma * V); i++) green[perm[i]] = 1
    return (l, rng) => sampleCategorical(softmax(l.map((x, v) => (green[v] ? x + params.delta : x))), rng)
  }
  if (name === 'vllm-redgreen') {
    const ctx = new GeneratedContext(params.contextWidth)
    const key = splitKey(BigInt(params.key))
    return (l, rng) => {
      const biased = Float32Array.from(l)
      if (!ctx.isRepeated()) {
        const u = philoxUniformsForCandidates(key, ctx.current(), new Float32Array(V))
        for (let v = 0; v < V; v++) if (u[v] < Math.fround(params.gamma)) biased[v] += params.delta
      }
      const t = sampleCategorical(softmax(biased), rng)
      ctx.push(t)
      return t
    }
  }
  if (family === 'gumbel') {
    const ctx = new GeneratedContext(
      params.contextWidth,
      params.maxHistory,
      params.deduplicateContexts,
      prompt,
    )
    const k = BigInt(params.key)
    const keys =
      params.alpha === null ? [k] : [deriveWatermarkKey(k, 'key_a'), deriveWatermarkKey(k, 'key_b')]
    return (l, rng) => {
      let t: number
      if (ctx.isRepeated()) t = sampleCategorical(softmax(l), rng)
      else {
        const key = splitKey(params.alpha !== null && rng() < params.alpha ? keys[1] : keys[0])
        const u = philoxUniformsForCandidates(key, ctx.current(), new Float32Array(V))
        const noisy = l.map((x, v) => x + Math.fround(-Math.log(Math.fround(-Math.log(u[v])))))
        t = argmax(noisy)
      }
      ctx.push(t)
      return t
    }
  }
  if (family === 'synthid') {
    const s = scheme as SynthidScheme
    const context = new Array(params.ngramLen - 1).fill(0)
    const history = new ContextRepetitionTracker(params.historySize)
    return (l, rng) => {
      let probs = softmax(l)
      if (!history.seen(synthidContextHash(params.hash, s.keys, context))) {
        const g = synthidGValuesForCandidates(params.hash, s.keys, context, V)
        probs = tournamentUpdate(probs, g, s.depth, params.numLeaves)
      }
      const t = sampleCategorical(probs, rng)
      context.push(t)
      context.shift()
      return t
    }
  }
  // KGW family
  const kgw = scheme as KgwScheme
  const history = [...prompt]
  const selfSalted = params.seeding === 'selfhash' || params.seeding === 'hf-selfhash'
  const lookback = selfSalted ? params.contextWidth - 1 : params.contextWidth
  const greenCount = Math.floor(params.gamma * V)
  return (l, rng) => {
    const biased = Float32Array.from(l)
    const n = history.length
    if (n >= lookback) {
      const finite = (c: number) => l[c] !== -Infinity
      let top: number[]
      if (selfSalted) {
        const window = history.slice(n - lookback)
        top = topIds(l, params.selfHashCandidates).filter(finite)
        for (const c of top) {
          const seed = torchSeed(kgw.seedAt([...window, c], lookback))
          if (inRandpermPrefix(seed, V, greenCount, c)) biased[c] += params.delta
        }
      } else {
        const perm = randperm(kgw.seedAt(history, n), V)
        for (let i = 0; i < greenCount; i++) biased[perm[i]] += params.delta
        // Gumbel-max over a window of up to GUMBEL_CANDIDATES, else the inverse-CDF draw.
        const ids = [...l.keys()].filter(finite)
        const max = Math.max(...ids.map((v) => l[v]))
        const reach = negligibleBelow(ids.length, params.delta)
        const window = ids.filter((v) => l[v] >= max - reach)
        if (window.length > GUMBEL_CANDIDATES) {
          const t = sampleCategorical(softmax(biased), rng)
          history.push(t)
          return t
        }
        top = topIds(l, window.length)
      }
      const t = gumbelMax(biased, top, rng)
      history.push(t)
      return t
    }
    const t = sampleCategorical(softmax(biased), rng)
    history.push(t)
    return t
  }
}

/**
 * The KGW draw on the full biased vector: Gumbel-max over the top candidates' keys (one uniform
 * each, in `top` order) and one key for all other finite ids, log Σ e^l + G; if that one wins, an
 * inverse-CDF draw among them in id order.
 */
function gumbelMax(biased: Float32Array, top: number[], rng: Rng): number {
  const g = () => -Math.log(-Math.log(rng() + 2 ** -54))
  const keys = top.map((c) => biased[c] + g())
  const isTop = new Set(top)
  const rest: number[] = []
  for (let v = 0; v < biased.length; v++) if (!isTop.has(v) && biased[v] !== -Infinity) rest.push(v)
  const max = rest.reduce((m, v) => Math.max(m, biased[v]), -Infinity)
  const sum = rest.reduce((acc, v) => acc + Math.exp(biased[v] - max), 0)
  const restKey = g()
  keys.push(rest.length > 0 ? max + Math.log(sum) + restKey : -Infinity)
  const best = keys.indexOf(Math.max(...keys))
  if (best < top.length) return top[best]
  const target = rng() * sum
  let acc = 0
  for (const v of rest) {
    acc += Math.exp(biased[v] - max)
    if (target < acc) return v
  }
  return rest[rest.length - 1]
}

const SETTINGS: StepSampling[] = [
  { temperature: 1, topK: 0, topP: 1 },
  { temperature: 0.7, topK: 0, topP: 1 },
  { temperature: 1, topK: 1, topP: 1 },
  { temperature: 1, topK: 5, topP: 1 },
  { temperature: 1.3, topK: 50, topP: 1 },
  { temperature: 1, topK: 0, topP: 0.9 },
  { temperature: 0.8, topK: 0, topP: 0.5 },
  { temperature: 1, topK: 40, topP: 0.95 },
]

/**
 * Random next-token logits of several shapes: Gaussian, brown-lm-like (most ids −Infinity), peaked (so
 * contexts repeat), quantised (ties at the top-k boundary and equal probabilities in top-p) and wide
 * (a tail 50–150 nats down that the float64 window drops).
 */
function randomLogits(r: Rng, step: number): Float32Array {
  const l = new Float32Array(V)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())
  for (let v = 0; v < V; v++) l[v] = 3 * gauss()
  switch (step % 5) {
    case 1:
      for (let v = 0; v < V; v++) if (r() < 0.77) l[v] = -Infinity
      break
    case 2:
      for (let j = 0; j < 3; j++) l[Math.floor(r() * 8)] += 12
      break
    case 3:
      for (let v = 0; v < V; v++) l[v] = Math.round(l[v])
      break
    case 4:
      for (let v = 0; v < V; v++) if (r() < 0.5) l[v] = -50 - 100 * r()
      break
  }
  return l
}

const kernels: Record<string, ScoringKernel> = { js: jsKernel }
beforeAll(async () => {
  kernels.wasm = await loadWasmKernel()
})

describe('filterCandidates', () => {
  it('keeps exactly the finite entries of the full-vector filter, with the same values', () => {
    const r = seededRng(3)
    for (let t = 0; t < 200; t++) {
      const logits = randomLogits(r, t)
      const s = SETTINGS[t % SETTINGS.length]
      const full = filterFull(logits, s)
      const c = filterCandidates(logits, s)
      const ids: number[] = []
      for (let v = 0; v < V; v++) if (full[v] !== -Infinity) ids.push(v)
      expect(Array.from(c.ids.subarray(0, c.count))).toEqual(ids)
      expect(Array.from(c.logits.subarray(0, c.count))).toEqual(ids.map((v) => full[v]))
    }
  })
})

describe('nextToken: the candidate path chooses what the full-vector path chooses', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['none', {}],
    ...schemeNames.map((n): [string, Record<string, unknown>] => [n, {}]),
    // short contexts and a 2-hash key set so repeated contexts (unwatermarked rows) occur
    ['vllm-gumbel', { contextWidth: 1 }],
    ['vllm-redgreen', { contextWidth: 1, delta: 4 }],
    ['synthid', { hash: 'table', ngramLen: 2, depth: 6, numLeaves: 3, historySize: 4 }],
  ]
  for (const [name, overrides] of cases) {
    for (const kernelName of ['js', 'wasm']) {
      it(`${name} ${JSON.stringify(overrides)} (${kernelName} kernel)`, () => {
        const kernel = kernels[kernelName]
        const r = seededRng(name.length * 7919 + Object.keys(overrides).length)
        const prompt = [17, 4, 99, 250]
        let scheme: WatermarkScheme | null = null
        let full: FullStep = (l, rng) => sampleCategorical(softmax(l), rng)
        let sparse: Parameters<typeof nextToken>[2] = null
        if (name !== 'none') {
          const params = { ...getPreset(name).defaults, key: KEY, vocabSize: V, ...overrides }
          scheme = createScheme(name, params, { kernel })
          full = fullReference(name, scheme, params, prompt)
          sparse = scheme.watermarker(prompt)
        }
        const rngA = seededRng(11)
        const rngB = seededRng(11)
        for (let t = 0; t < 60; t++) {
          const logits = randomLogits(r, t)
          const s = SETTINGS[(t * 3) % SETTINGS.length]
          const a = nextToken(logits, s, sparse, rngA)
          const b = full(filterFull(logits, s), rngB)
          expect(a, `step ${t}`).toBe(b)
        }
      })
    }
  }
})

describe('seeded generation through nextToken', () => {
  it('kgw-lefthash text detects with a tiny p-value; unwatermarked text does not', () => {
    const vocab = 32_000
    const scheme = createScheme('kgw-lefthash', { key: KEY, vocabSize: vocab })
    const wm = scheme.watermarker([1, 2])
    const rngA = seededRng(5)
    const rngB = seededRng(5)
    const marked: number[] = []
    const plain: number[] = []
    for (let t = 0; t < 200; t++) {
      const logits = simulatedLogits(vocab, 1, t)
      marked.push(nextToken(logits, { temperature: 1, topK: 0, topP: 0.95 }, wm, rngA))
      plain.push(nextToken(logits, { temperature: 1, topK: 0, topP: 0.95 }, null, rngB))
    }
    expect(scheme.detect(marked).pValue).toBeLessThan(1e-6)
    expect(scheme.detect(plain).watermarked).toBe(false)
  })
})
