// Named presets that reproduce the references exactly; every parameter can be overridden and is
// validated by the scheme's zod schema. `key` is the secret of every preset (for the KGW family it
// is the hash key, whose reference default 15485863 is public — use your own).
import { jsKernel } from '../kernel/js.ts'
import { pForZ } from './detection.ts'
import { type GumbelParams, GumbelScheme } from './gumbel.ts'
import { type KgwParams, KgwScheme } from './kgw.ts'
import { type SynthidParams, SynthidScheme } from './synthid.ts'
import type { SchemeDeps, WatermarkScheme } from './types.ts'
import { type UnigramParams, UnigramScheme } from './unigram.ts'
import { type VllmRedGreenParams, VllmRedGreenScheme } from './vllm-red-green.ts'

type Params = Record<string, unknown>

export interface SchemePreset {
  name: string
  family: 'red-green' | 'gumbel' | 'synthid'
  description: string
  defaults: Params
  build(name: string, params: Params, deps: SchemeDeps): WatermarkScheme
}

const LM_WATERMARKING_KEY = 15485863
const z4 = pForZ(4)

const kgw = (description: string, defaults: Params): SchemePreset => ({
  name: '',
  family: 'red-green',
  description,
  defaults: {
    gamma: 0.25,
    delta: 2,
    key: LM_WATERMARKING_KEY,
    selfHashCandidates: 41,
    pValueThreshold: z4,
    ...defaults,
  },
  build: (name, { key, ...p }, deps) => new KgwScheme(name, { ...p, hashKey: key } as KgwParams, deps),
})

const presetList: Record<string, Omit<SchemePreset, 'name'>> = {
  'kgw-lefthash': kgw(
    'lm-watermarking simple_1 / HF lefthash: greenlist seeded by key · previous id (h = 1).',
    {
      seeding: 'lefthash',
      contextWidth: 1,
    },
  ),
  'kgw-selfhash': kgw(
    'lm-watermarking selfhash (algorithm-3): anchored min-hash over 4 ids incl. the candidate, table seeded 2971215073.',
    { seeding: 'selfhash', contextWidth: 4, tableSeed: 2971215073 },
  ),
  'hf-selfhash': kgw(
    'HF transformers selfhash: table seeded with the hashing key, context_width ids incl. the candidate.',
    {
      seeding: 'hf-selfhash',
      contextWidth: 1,
      selfHashCandidates: 40,
      pValueThreshold: pForZ(3),
    },
  ),
  'markllm-kgw': kgw('MarkLLM watermark/kgw: seed = key · prf[Π context mod V], γ = 0.5.', {
    seeding: 'markllm',
    contextWidth: 1,
    gamma: 0.5,
  }),
  'vllm-redgreen': {
    family: 'red-green',
    description: 'vLLM red/green on Philox: green iff u < γ (float32), γ = 0.25, δ = 2, h = 4.',
    defaults: { gamma: 0.25, delta: 2, contextWidth: 4, pValueThreshold: 0.01 },
    build: (name, p, deps) => new VllmRedGreenScheme(name, p as VllmRedGreenParams, deps),
  },
  unigram: {
    family: 'red-green',
    description: 'Unigram (Zhao et al.): one fixed keyed green list, γ = 0.5, δ = 2.',
    defaults: { gamma: 0.5, delta: 2, pValueThreshold: z4 },
    build: (name, p, deps) => new UnigramScheme(name, p as UnigramParams, deps),
  },
  'vllm-gumbel': {
    family: 'gumbel',
    description:
      'vLLM native Gumbel-max on Philox (philox4x32-10-v1), h = 4, de-duplicated contexts, p ≤ 0.01.',
    defaults: {
      contextWidth: 4,
      alpha: null,
      pValueThreshold: 0.01,
      deduplicateContexts: 'single_turn',
      maxHistory: 8192,
    },
    build: (name, p, deps) => new GumbelScheme(name, p as GumbelParams, deps),
  },
  'vllm-dual-key-gumbel': {
    family: 'gumbel',
    description: 'vLLM dual-key Gumbel for speculative decoding: derived keys A/B, α = 0.1.',
    defaults: {
      contextWidth: 4,
      alpha: 0.1,
      pValueThreshold: 0.01,
      deduplicateContexts: 'single_turn',
      maxHistory: 8192,
    },
    build: (name, p, deps) => new GumbelScheme(name, p as GumbelParams, deps),
  },
  synthid: {
    family: 'synthid',
    description:
      'SynthID-Text tournament sampling, 30 layers, n-gram 5, history 1024; hash "2025" (SHA-256 IV) or "table".',
    defaults: {
      hash: '2025',
      ngramLen: 5,
      depth: 30,
      numLeaves: 2,
      historySize: 1024,
      scoring: 'mean',
      pValueThreshold: 1e-3,
    },
    build: (name, p, deps) => new SynthidScheme(name, p as SynthidParams, deps),
  },
}

export const schemeNames = Object.keys(presetList)

export function getPreset(name: string): SchemePreset {
  const p = presetList[name]
  if (!p) throw new UnknownSchemeError(name)
  return { name, ...p }
}

export class UnknownSchemeError extends Error {
  constructor(name: string) {
    super(`unknown scheme "${name}"; known: ${schemeNames.join(', ')}`)
    this.name = 'UnknownSchemeError'
  }
}

/** Builds a scheme from a preset plus overrides (at least `key` and `vocabSize`). */
export function createScheme(name: string, params: Params, deps: Partial<SchemeDeps> = {}): WatermarkScheme {
  const preset = getPreset(name)
  const defined = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined))
  return preset.build(name, { ...preset.defaults, ...defined }, { ...deps, kernel: deps.kernel ?? jsKernel })
}
