// Request and response schemas: validated at the edge and published in /openapi.json.
import { z } from '@hono/zod-openapi'
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
    scored: z.number().int(),
    statistic: z.number(),
    pValue: z.number(),
    logPValue: z.number(),
    zScore: z.number().optional(),
    watermarked: z.boolean(),
    threshold: z.number(),
    cache: z.enum(['hit', 'miss']),
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
