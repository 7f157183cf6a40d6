// The experiment specification (stored as JSON in experiments.spec) and its expansion into grid
// cells and jobs. Pure: the API validates with it, the consumer plans with it.
import { z } from 'zod'
import { schemeNames } from '../schemes/registry.ts'

/** Attacks the lab runs (core/attacks/registry.ts implements each). */
export const ATTACK_NAMES = [
  'word-deletion',
  'token-substitution',
  'synonym-substitution',
  'word-insertion',
  'typos',
  'case-change',
  'copy-paste',
  'homoglyph',
  'zero-width',
  'paraphrase',
  'emoji',
] as const
export type AttackName = (typeof ATTACK_NAMES)[number]

/** Watermarked spans copy-paste pastes into the human text when the spec does not say (k of CP-k). */
export const COPY_PASTE_SPANS = 3
/** The most spans a copy-paste attack may ask for. */
export const MAX_COPY_PASTE_SPANS = 64

export const AttackSpecSchema = z
  .strictObject({
    name: z.enum(ATTACK_NAMES),
    /** Fraction of the text the attack edits (its own unit), in (0, 1]. */
    strength: z.number().gt(0).max(1),
    /** copy-paste only: the number k of watermarked spans (Kirchenbauer et al.'s CP-k); default 3. */
    spans: z.number().int().min(1).max(MAX_COPY_PASTE_SPANS).optional(),
  })
  .refine((a) => a.spans === undefined || a.name === 'copy-paste', {
    path: ['spans'],
    message: 'spans applies only to the copy-paste attack',
  })
export type AttackSpec = z.infer<typeof AttackSpecSchema>

const ParamValue = z.union([z.number(), z.string(), z.boolean()])

export const GridEntrySchema = z.strictObject({
  scheme: z.enum(schemeNames as [string, ...string[]]),
  /** Each parameter lists the values to try; the grid is their Cartesian product. */
  params: z.record(z.string(), z.array(ParamValue).min(1).max(16)).default({}),
})

export const PromptSourceSchema = z.discriminatedUnion('source', [
  /** Held-out Brown documents (never seen by brown-lm in training): prompt = the first words,
   * human text = the words that follow. */
  z.strictObject({
    source: z.literal('brown'),
    promptWords: z.number().int().min(4).max(200).default(24),
  }),
  /** Uploaded prompts (a JSONL upload is parsed into this), each with an optional human continuation. */
  z.strictObject({
    source: z.literal('inline'),
    items: z
      .array(z.lazy(() => PromptItemSchema))
      .min(1)
      .max(5_000),
  }),
  /** An uploaded JSONL file: one {"prompt": …, "human"?: …} object per line; stored as `inline`. */
  z.strictObject({
    source: z.literal('jsonl'),
    data: z.string().min(1).max(5_000_000),
  }),
])

export const PromptItemSchema = z.strictObject({
  prompt: z.string().min(1).max(8_000),
  human: z.string().max(50_000).optional(),
})

export const ExperimentSpecSchema = z.strictObject({
  name: z.string().min(1).max(200),
  /** Model id of models/registry (the origin must serve it). */
  model: z.string().min(1).max(200).default('brown-lm'),
  grid: z.strictObject({
    schemes: z.array(GridEntrySchema).min(1).max(16),
    /** Independent keys per scheme × params combination. */
    keys: z.number().int().min(1).max(8).default(1),
  }),
  prompts: PromptSourceSchema.default({ source: 'brown', promptWords: 24 }),
  /** Samples per grid cell (each one prompt). */
  samples: z.number().int().min(1).max(2_000),
  maxNewTokens: z.number().int().min(8).max(1_024).default(128),
  sampling: z
    .strictObject({
      temperature: z.number().min(0).max(5).default(1),
      topK: z.number().int().min(0).max(1_000_000).default(0),
      topP: z.number().gt(0).max(1).default(1),
    })
    .default({ temperature: 1, topK: 0, topP: 1 }),
  /** Each attack's label (attackLabel) names its rows, so no two attacks may share one. */
  attacks: z
    .array(AttackSpecSchema)
    .max(16)
    .default([])
    .superRefine((attacks, ctx) => {
      const seen = new Set<string>()
      for (const [i, a] of attacks.entries()) {
        const label = attackLabel(a)
        if (seen.has(label))
          ctx.addIssue({ code: 'custom', path: [i], message: `duplicate attack ${label}; each must differ` })
        seen.add(label)
      }
    }),
  targetFprs: z.array(z.number().gt(0).lt(1)).min(1).max(8).default([0.01, 0.001, 1e-5]),
  /** Prefix lengths (tokens) for TPR as a function of T; capped at maxNewTokens. */
  lengths: z.array(z.number().int().min(1).max(4_096)).max(16).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
  /**
   * Fault injection for tests of the queue path, honoured only where the worker sets
   * ALLOW_FAULT_INJECTION (the local lab): crashOnce jobs crash the consumer mid-job on their first
   * attempt; failAlways jobs fail every attempt and end in the dead-letter queue.
   */
  faults: z
    .strictObject({
      crashOnce: z.array(z.number().int().min(0)).max(100).optional(),
      failAlways: z.array(z.number().int().min(0)).max(100).optional(),
    })
    .optional(),
})
export type ExperimentSpec = z.infer<typeof ExperimentSpecSchema>
export type ExperimentSpecInput = z.input<typeof ExperimentSpecSchema>

/** Parses a JSONL prompt upload; errors name the line. */
export function parsePromptsJsonl(data: string): z.infer<typeof PromptItemSchema>[] {
  const items: z.infer<typeof PromptItemSchema>[] = []
  for (const [i, line] of data.split('\n').entries()) {
    if (!line.trim()) continue
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch {
      throw new RangeError(`prompts.data line ${i + 1}: not valid JSON`)
    }
    const item = PromptItemSchema.safeParse(json)
    if (!item.success)
      throw new RangeError(
        `prompts.data line ${i + 1}: ${item.error.issues[0]?.path.join('.') || 'line'}: ${item.error.issues[0]?.message}`,
      )
    items.push(item.data)
  }
  if (items.length === 0 || items.length > 5_000)
    throw new RangeError(`prompts.data: give 1 to 5,000 prompt lines, got ${items.length}`)
  return items
}

/** The spec as stored: an uploaded JSONL prompt file becomes inline items. */
export function resolvePrompts(spec: ExperimentSpec): ExperimentSpec {
  if (spec.prompts.source !== 'jsonl') return spec
  return { ...spec, prompts: { source: 'inline', items: parsePromptsJsonl(spec.prompts.data) } }
}

export interface GridCell {
  cell: number
  scheme: string
  params: Record<string, unknown>
  /** 0-based key index within this scheme × params combination. */
  keyIndex: number
  keyLabel: string
}

/** The most jobs (cells × samples) one experiment may fan out: its rows are summarised in one consumer call. */
export const MAX_JOBS = 5_000

/** The most grid cells (schemes × parameter values × keys) one experiment may have. */
export const MAX_CELLS = 64

/** Cells of the grid, counted without expanding it (a hostile spec could ask for 16⁸ of them). */
export function gridCellCount(spec: ExperimentSpec): number {
  let cells = 0
  for (const entry of spec.grid.schemes)
    cells += Object.values(entry.params).reduce((n, values) => n * values.length, 1) * spec.grid.keys
  return cells
}

/** Expands the grid: schemes in order, params as a Cartesian product (keys sorted), then keys. */
export function gridCells(spec: ExperimentSpec): GridCell[] {
  const cells: GridCell[] = []
  for (const entry of spec.grid.schemes) {
    let combos: Record<string, unknown>[] = [{}]
    for (const name of Object.keys(entry.params).sort()) {
      combos = combos.flatMap((c) => entry.params[name].map((v) => ({ ...c, [name]: v })))
    }
    for (const params of combos) {
      for (let k = 0; k < spec.grid.keys; k++) {
        const p = Object.entries(params)
          .map(([n, v]) => `${n}=${v}`)
          .join(',')
        cells.push({
          cell: cells.length,
          scheme: entry.scheme,
          params,
          keyIndex: k,
          keyLabel: `${entry.scheme}${p ? `(${p})` : ''}#${k + 1}`,
        })
      }
    }
  }
  return cells
}

/** Job j covers sample ⌊j / cells⌋ of cell j mod cells: every cell progresses at the same pace. */
export function jobOf(j: number, cellCount: number): { sample: number; cell: number } {
  return { sample: Math.floor(j / cellCount), cell: j % cellCount }
}

export function totalJobs(spec: ExperimentSpec): number {
  return gridCells(spec).length * spec.samples
}

/** Prefix lengths for TPR(T): the spec's, or powers of two from 16, always ending at maxNewTokens. */
export function prefixLengths(spec: ExperimentSpec): number[] {
  const base = spec.lengths ?? [16, 32, 64, 128, 256, 512, 1024]
  return [...new Set([...base.filter((t) => t < spec.maxNewTokens), spec.maxNewTokens])].sort((a, b) => a - b)
}

/**
 * The label that names an attack's rows: `name@strength`, and for copy-paste with a k other than
 * the default 3 also `/k=…` (e.g. 'copy-paste@0.5/k=5').
 */
export function attackLabel(a: AttackSpec): string {
  const k = a.spans !== undefined && a.spans !== COPY_PASTE_SPANS ? `/k=${a.spans}` : ''
  return `${a.name}@${a.strength}${k}`
}
