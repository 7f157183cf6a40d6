// The edge ↔ origin generation protocol: one zod schema, imported by both sides so they cannot
// drift. Watermark keys travel as ids only; the origin derives the material (core/keys).
import { z } from 'zod'

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(100_000),
})

export const WatermarkSpecSchema = z.strictObject({
  keyId: z.string().min(1).max(100),
  scheme: z.string().min(1).max(100),
  params: z.record(z.string(), z.unknown()).default({}),
})

export const SamplingSchema = z.strictObject({
  /** 0 = greedy (argmax after the watermark step). */
  temperature: z.number().min(0).max(5).default(1),
  /** 0 = off. */
  topK: z.number().int().min(0).max(1_000_000).default(0),
  /** 1 = off. */
  topP: z.number().gt(0).max(1).default(1),
  maxTokens: z.number().int().min(1).max(4096).default(128),
  stop: z.array(z.string().min(1).max(200)).max(8).default([]),
  /** End-of-sequence is not sampled before this many tokens (vLLM's min_tokens); absent = 0. */
  minTokens: z.number().int().min(0).max(4096).optional(),
  /** Same seed + same request = same text. Random when absent. */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  /**
   * Every `every` free tokens, one step chooses (watermark applied) only among `choices`: the emoji
   * attack (core/attacks) makes the model write an emoji between words, which the attacker strips.
   */
  interleave: z
    .strictObject({
      every: z.number().int().min(1).max(64),
      choices: z.array(z.number().int().min(0).max(2_147_483_647)).min(1).max(512),
    })
    .optional(),
})

export const GenerateRequestSchema = z
  .strictObject({
    /** Model id from models/registry; the origin's default when absent. */
    model: z.string().min(1).max(200).optional(),
    /** Raw completion prompt … */
    prompt: z.string().max(100_000).optional(),
    /** … or chat messages, rendered with the model's chat template. */
    messages: z.array(ChatMessageSchema).min(1).max(256).optional(),
    sampling: SamplingSchema.default(SamplingSchema.parse({})),
    /** null: plain, unwatermarked sampling. */
    watermark: WatermarkSpecSchema.nullable().default(null),
    stream: z.boolean().default(false),
  })
  .refine((r) => (r.prompt === undefined) !== (r.messages === undefined), {
    message: 'give exactly one of prompt or messages',
  })

export type GenerateRequest = z.infer<typeof GenerateRequestSchema>
export type GenerateRequestInput = z.input<typeof GenerateRequestSchema>
export type Sampling = z.infer<typeof SamplingSchema>
export type WatermarkSpec = z.infer<typeof WatermarkSpecSchema>

export type FinishReason = 'stop' | 'length' | 'eos'

export interface GenerateUsage {
  promptTokens: number
  completionTokens: number
}

/** The non-streaming answer, and the payload of the stream's final `done` event. */
export interface GenerateResult {
  id: string
  model: string
  text: string
  /** Completion token ids (what detection scores when given tokens). */
  tokens: number[]
  finishReason: FinishReason
  usage: GenerateUsage
  watermark: { keyId: string; scheme: string } | null
  timing: { loadMs?: number; firstTokenMs: number; totalMs: number; tokensPerSecond: number }
}

/**
 * Server-sent events of a streamed generation, in order: `token`* then exactly one of `done` or
 * `error`. A stream that ends without either was cut: clients treat it as an error, never as text.
 */
export type GenerateEvent =
  | { event: 'token'; data: { index: number; token: number; text: string } }
  | { event: 'done'; data: GenerateResult }
  | { event: 'error'; data: { error: { code: string; message: string } } }

export const ScoreRequestSchema = z.strictObject({
  model: z.string().min(1).max(200).optional(),
  /** Text to score; its first token is conditioned on `context` (or on nothing). */
  text: z.string().min(1).max(100_000),
  context: z.string().max(100_000).default(''),
})
export type ScoreRequest = z.infer<typeof ScoreRequestSchema>

export interface ScoreResult {
  model: string
  tokens: number[]
  /** ln p(token | everything before it), one per token; null where p = 0 (JSON has no −Infinity). */
  logprobs: (number | null)[]
  /** Entropy (nats) of the model's next-token distribution at each position. */
  entropies: number[]
  /** exp(−mean logprob); null when some token is impossible under the model (infinite perplexity). */
  perplexity: number | null
}
