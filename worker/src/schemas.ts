// Request and response schemas: validated at the edge and published in /openapi.json.
import { z } from '@hono/zod-openapi'
import { ChatMessageSchema, SamplingSchema } from '../../core/generation/protocol.ts'
import { schemeNames } from '../../core/schemes/registry.ts'
import { tokenizerIds } from '../../core/tokenizers/registry.ts'

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .openapi('Error', { example: { error: { code: 'invalid_request', message: 'text: Required' } } })

export const DetectOptionsSchema = z
  .object({
    dedup: z.boolean().default(true).openapi({ description: 'Score each repeated context once.' }),
    perToken: z.boolean().default(false).openapi({ description: 'Return per-token scores and text.' }),
    windowed: z
      .boolean()
      .default(false)
      .openapi({ description: 'Search for watermarked spans (Bonferroni-corrected).' }),
    normalize: z
      .boolean()
      .default(true)
      .openapi({ description: 'NFC, strip invisible characters, fold homoglyphs.' }),
  })
  .strict()

export const DetectRequestSchema = z
  .object({
    text: z.string().max(200_000).optional().openapi({ example: 'The quick brown fox…' }),
    tokens: z.array(z.number().int().min(0).max(2_147_483_647)).max(100_000).optional(),
    keyId: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: 'A key id, or "auto" (default): every active key.' }),
    options: DetectOptionsSchema.default({ dedup: true, perToken: false, windowed: false, normalize: true }),
  })
  .strict()
  .refine((b) => (b.text === undefined) !== (b.tokens === undefined), {
    message: 'give exactly one of text or tokens',
    path: ['text'],
  })
  .openapi('DetectRequest')

export const DetectionSchema = z
  .object({
    scheme: z.string(),
    keyId: z.string(),
    keysTried: z.number().int(),
    tokens: z.number().int(),
    // Absent for verdict-only tenants (detail: "verdict"; docs/security.md), as is everything below
    // except watermarked and cache.
    scored: z.number().int().optional(),
    statistic: z.number().optional(),
    pValue: z.number().optional(),
    logPValue: z.number().optional(),
    zScore: z.number().optional(),
    watermarked: z.boolean(),
    threshold: z.number().optional(),
    cache: z.enum(['hit', 'miss']),
    detail: z.literal('verdict').optional(),
    perToken: z
      .array(
        z.object({
          token: z.number(),
          text: z.string().optional(),
          score: z.number().nullable(),
          counted: z.boolean(),
        }),
      )
      .optional(),
    window: z
      .object({
        start: z.number(),
        end: z.number(),
        pValue: z.number(),
        logPValue: z.number(),
        windowsTried: z.number(),
      })
      .optional(),
    normalization: z.object({ removedInvisible: z.number(), foldedHomoglyphs: z.number() }).optional(),
  })
  .openapi('Detection')

export const BatchRequestSchema = z
  .object({
    items: z.array(DetectRequestSchema).min(1).max(64),
  })
  .strict()
  .openapi('DetectBatchRequest')

export const KeyCreateSchema = z
  .object({
    scheme: z.enum(schemeNames as [string, ...string[]]),
    tokenizer: z.enum(tokenizerIds() as [string, ...string[]]).default('qwen3'),
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .openapi({ description: 'Scheme parameters (γ, δ, contextWidth, …); never key material.' }),
  })
  .strict()
  .openapi('KeyCreate')

export const KeySchema = z
  .object({
    id: z.string(),
    scheme: z.string(),
    tokenizer: z.string(),
    params: z.record(z.string(), z.unknown()),
    status: z.enum(['active', 'revoked']),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi('WatermarkKey')

export const KeyIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
})

// ---- Generation: our protocol-shaped API and the OpenAI-compatible one ----

const KeyIdField = z.string().min(1).max(64).optional().openapi({
  description:
    'A watermark key id of this tenant, "none" for unwatermarked text, or absent: the newest active key.',
})

export const GenerateBodySchema = z
  .object({
    model: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .openapi({ description: "The origin's default when absent." }),
    prompt: z.string().max(100_000).optional(),
    messages: z.array(ChatMessageSchema).min(1).max(256).optional(),
    sampling: SamplingSchema.optional(),
    keyId: KeyIdField,
    stream: z
      .boolean()
      .default(false)
      .openapi({ description: 'true: server-sent events token… then done | error.' }),
  })
  .strict()
  .refine((b) => (b.prompt === undefined) !== (b.messages === undefined), {
    message: 'give exactly one of prompt or messages',
    path: ['prompt'],
  })
  .openapi('GenerateRequest')

export const GenerateResultSchema = z
  .object({
    id: z.string(),
    model: z.string(),
    text: z.string(),
    tokens: z.array(z.number().int()),
    finishReason: z.enum(['stop', 'length', 'eos']),
    usage: z.object({ promptTokens: z.number().int(), completionTokens: z.number().int() }),
    watermark: z.object({ keyId: z.string(), scheme: z.string() }).nullable(),
    timing: z.object({
      loadMs: z.number().optional(),
      firstTokenMs: z.number(),
      totalMs: z.number(),
      tokensPerSecond: z.number(),
    }),
  })
  .openapi('GenerateResult')

const nonEmpty = (v: unknown) =>
  v !== undefined && v !== null && (typeof v !== 'object' || Object.keys(v as object).length > 0)
/** OpenAI request fields this server cannot honour: refused (400) rather than silently ignored. */
const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  n: (v) => v !== undefined && v !== null && v !== 1,
  best_of: (v) => v !== undefined && v !== null && v !== 1,
  echo: (v) => v === true,
  suffix: (v) => typeof v === 'string' && v !== '',
  logprobs: (v) => v !== undefined && v !== null && v !== false,
  top_logprobs: (v) => v !== undefined && v !== null,
  logit_bias: nonEmpty,
  tools: nonEmpty,
  functions: nonEmpty,
  tool_choice: (v) => v !== undefined && v !== null && v !== 'none',
  function_call: (v) => v !== undefined && v !== null && v !== 'none',
  response_format: (v) => nonEmpty(v) && (v as { type?: unknown }).type !== 'text',
  presence_penalty: (v) => typeof v === 'number' && v !== 0,
  frequency_penalty: (v) => typeof v === 'number' && v !== 0,
  audio: nonEmpty,
  prediction: nonEmpty,
}

function refuseUnsupported(body: Record<string, unknown>, ctx: z.RefinementCtx) {
  for (const [field, isSet] of Object.entries(UNSUPPORTED)) {
    if (isSet(body[field]))
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: field === 'n' ? 'only n = 1 is supported' : 'not supported by this server',
      })
  }
  const meta = (body.metadata as Record<string, string> | null | undefined)?.watermark_key_id
  if (meta !== undefined && body.watermark_key_id !== undefined && meta !== body.watermark_key_id)
    ctx.addIssue({
      code: 'custom',
      path: ['watermark_key_id'],
      message: 'differs from metadata.watermark_key_id',
    })
}

const openAiCommon = {
  model: z
    .string()
    .min(1)
    .max(200)
    .openapi({ description: 'A model the origin serves, or "default" for its default model.' }),
  max_tokens: z.number().int().min(1).max(4096).nullish(),
  min_tokens: z
    .number()
    .int()
    .min(0)
    .max(4096)
    .nullish()
    .openapi({ description: "vLLM's extension: end-of-sequence is not sampled before this many tokens." }),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  stop: z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).max(8)]).nullish(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
  watermark_key_id: KeyIdField,
  metadata: z
    .record(z.string(), z.string())
    .nullish()
    .openapi({ description: 'metadata.watermark_key_id works like watermark_key_id (typed SDKs).' }),
}

const OpenAiContent = z.union([
  z.string().max(100_000),
  z.array(z.object({ type: z.literal('text'), text: z.string().max(100_000) }).loose()).max(64),
])

export const ChatCompletionRequestSchema = z
  .object({
    ...openAiCommon,
    messages: z
      .array(
        z
          .object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: OpenAiContent })
          .loose(),
      )
      .min(1)
      .max(256),
    max_completion_tokens: z.number().int().min(1).max(4096).nullish(),
  })
  .loose()
  .superRefine(refuseUnsupported)
  .openapi('ChatCompletionRequest')

export const CompletionRequestSchema = z
  .object({
    ...openAiCommon,
    prompt: z.union([z.string().max(100_000), z.array(z.string().max(100_000)).length(1)]),
  })
  .loose()
  .superRefine(refuseUnsupported)
  .openapi('CompletionRequest')

const OpenAiUsage = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
})
const OpenAiFinish = z.enum(['stop', 'length'])
const WatermarkUsed = z
  .object({ keyId: z.string(), scheme: z.string() })
  .nullable()
  .openapi({ description: 'Extension: the watermark applied (null: none).' })

/** An OpenAI completion object; the two endpoints differ in `object` and in how a choice holds text. */
const openAiCompletion = <O extends string, C extends z.ZodRawShape>(object: O, choice: C) =>
  z.object({
    id: z.string(),
    object: z.literal(object),
    created: z.number().int(),
    model: z.string(),
    system_fingerprint: z.null(),
    choices: z.array(
      z.object({ index: z.number().int(), ...choice, logprobs: z.null(), finish_reason: OpenAiFinish }),
    ),
    usage: OpenAiUsage,
    watermark: WatermarkUsed,
  })

export const ChatCompletionSchema = openAiCompletion('chat.completion', {
  message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
}).openapi('ChatCompletion')

export const CompletionSchema = openAiCompletion('text_completion', { text: z.string() }).openapi(
  'Completion',
)
