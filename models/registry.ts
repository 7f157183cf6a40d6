// The model registry: models/registry.json lists every model the origin can serve, by id, so a new
// model in the same ONNX layout (for example a Qwen instruct export on a GPU host) is added by
// configuration, not code. Validated once here; the origin takes the parsed spec.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { chatTemplateIds } from '../core/generation/chat-template.ts'
import { getTokenizerSpec } from '../core/tokenizers/registry.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const MODEL_REGISTRY_PATH = join(ROOT, 'models', 'registry.json')

const tokenId = z.number().int().min(0)

export const ModelSpecSchema = z.strictObject({
  description: z.string().max(500).default(''),
  /** Folder in the transformers.js layout, relative to the repository root (or absolute). */
  path: z.string().min(1),
  /** Tokenizer id from core/tokenizers/registry.ts. */
  tokenizer: z.string().min(1),
  /** Width of the logits row the watermark is keyed on; must equal the tokenizer's logitsSize. */
  vocabSize: z.number().int().min(2),
  /** Sampling one of these ends the completion (finish reason 'eos'). */
  eosTokenIds: z.array(tokenId).min(1),
  /** Ids fed before every prompt and scored text: the document start the model was trained after. */
  startIds: z.array(tokenId).min(1),
  /** Prompt + completion may not exceed this many tokens (positions the model was trained on). */
  maxContextTokens: z.number().int().min(2),
  chatTemplate: z.string().refine((t) => chatTemplateIds.includes(t), {
    message: `chatTemplate must be one of: ${chatTemplateIds.join(', ')}`,
  }),
  /** transformers.js dtype: which ONNX file it loads (fp32 → onnx/model.onnx, q4f16 → onnx/model_q4f16.onnx, …). */
  dtype: z.enum(['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4']).default('fp32'),
  /** Weights over 2 GB come as onnx/model.onnx_data (true) or N numbered chunks. */
  useExternalDataFormat: z.union([z.boolean(), z.number().int().min(1)]).default(false),
  /** Files the engine needs in the folder (tokenizer files are assembled by npm run build:models). */
  files: z.array(z.string().min(1)).min(1),
  /** Settings a request gets for each field it leaves out. */
  generation: z.strictObject({
    temperature: z.number().min(0).max(5),
    topK: z.number().int().min(0),
    topP: z.number().gt(0).max(1),
    maxTokens: z.number().int().min(1),
  }),
})

export type ModelSpec = z.infer<typeof ModelSpecSchema> & { id: string }

export const ModelRegistrySchema = z.strictObject({
  default: z.string().min(1),
  models: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/), ModelSpecSchema),
})

export class UnknownModelError extends Error {
  constructor(
    readonly modelId: string,
    readonly known: string[],
  ) {
    super(`unknown model "${modelId}"; known: ${known.join(', ')}`)
    this.name = 'UnknownModelError'
  }
}

export interface ModelRegistry {
  readonly defaultId: string
  ids(): string[]
  get(id: string): ModelSpec
}

/** Checks what zod cannot: the default exists, and each model agrees with its tokenizer. */
function crossCheck(registry: z.infer<typeof ModelRegistrySchema>): void {
  if (!Object.hasOwn(registry.models, registry.default))
    throw new Error(`models/registry: default "${registry.default}" is not a listed model`)
  for (const [id, m] of Object.entries(registry.models)) {
    const tok = getTokenizerSpec(m.tokenizer)
    if (m.vocabSize !== tok.logitsSize)
      throw new Error(
        `models/registry: ${id}.vocabSize is ${m.vocabSize} but tokenizer "${m.tokenizer}" has logitsSize ${tok.logitsSize}; detection keys the watermark on the tokenizer's width`,
      )
    if (m.generation.maxTokens >= m.maxContextTokens)
      throw new Error(`models/registry: ${id}.generation.maxTokens must be below maxContextTokens`)
  }
}

/**
 * Parses and checks a registry document.
 *
 * @example
 * const registry = parseModelRegistry(JSON.parse(readFileSync('models/registry.json', 'utf8')))
 * registry.get('brown-lm').tokenizer // 'qwen3'
 */
export function parseModelRegistry(json: unknown): ModelRegistry {
  const parsed = ModelRegistrySchema.parse(json)
  crossCheck(parsed)
  const ids = Object.keys(parsed.models)
  return {
    defaultId: parsed.default,
    ids: () => [...ids],
    get(id) {
      if (!Object.hasOwn(parsed.models, id)) throw new UnknownModelError(id, ids)
      return { ...parsed.models[id], id }
    },
  }
}

/** The repository's registry (models/registry.json). */
export function loadModelRegistry(path = MODEL_REGISTRY_PATH): ModelRegistry {
  return parseModelRegistry(JSON.parse(readFileSync(path, 'utf8')))
}

/**
 * The folder a model loads from: its registry path, or $WMLAB_MODEL_DIR (development only, to try a
 * model folder elsewhere under the same registry entry).
 */
export function modelDir(spec: ModelSpec, env: Record<string, string | undefined> = process.env): string {
  const override = env.WMLAB_MODEL_DIR
  if (override) return resolve(override)
  return isAbsolute(spec.path) ? spec.path : join(ROOT, spec.path)
}

/** Files of `spec.files` missing from `dir`. */
export function missingModelFiles(spec: ModelSpec, dir: string): string[] {
  return spec.files.filter((f) => !existsSync(join(dir, f)))
}
