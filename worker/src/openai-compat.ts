// OpenAI-compatible /v1/chat/completions and /v1/completions over the origin protocol, shaped so the
// official `openai` SDK works unchanged: its request fields, its response and chunk objects, and
// `data: [DONE]` only after a complete stream. A stream that fails mid-way ends with
// `data: {"error":…}` (the SDK throws APIError), never with [DONE]. Errors before the stream keep
// the lab's envelope, which the SDK also reads (APIError with status, code and message).
import type { z } from '@hono/zod-openapi'
import {
  type GenerateEvent,
  GenerateRequestSchema,
  type GenerateResult,
  type WatermarkSpec,
} from '../../core/generation/protocol.ts'
import {
  collectResult,
  eventStreamResponse,
  type Generation,
  type GenerationContext,
  generationHeaders,
  resolveWatermark,
  startGeneration,
} from './generation.ts'
import type { ChatCompletionRequestSchema, CompletionRequestSchema } from './schemas.ts'
import { sseFrame } from './sse.ts'

type ChatRequest = z.infer<typeof ChatCompletionRequestSchema>
type CompletionRequest = z.infer<typeof CompletionRequestSchema>
type Common = ChatRequest | CompletionRequest
export type OpenAiContext = Omit<GenerationContext, 'endpoint'>

const DONE = sseFrame(null, '[DONE]')
const finishReason = (r: GenerateResult['finishReason']) => (r === 'length' ? 'length' : 'stop')
const usage = (r: GenerateResult) => ({
  prompt_tokens: r.usage.promptTokens,
  completion_tokens: r.usage.completionTokens,
  total_tokens: r.usage.promptTokens + r.usage.completionTokens,
})
const textOf = (content: ChatRequest['messages'][number]['content']) =>
  typeof content === 'string' ? content : content.map((p) => p.text).join('')

function protocolFields(body: Common, watermark: WatermarkSpec | null) {
  const maxTokens = ('max_completion_tokens' in body ? body.max_completion_tokens : null) ?? body.max_tokens
  const sampling: Record<string, unknown> = {}
  if (body.temperature != null) sampling.temperature = body.temperature
  if (body.top_p != null) sampling.topP = body.top_p
  if (maxTokens != null) sampling.maxTokens = maxTokens
  if (body.min_tokens != null) sampling.minTokens = body.min_tokens
  if (body.stop != null) sampling.stop = typeof body.stop === 'string' ? [body.stop] : body.stop
  if (body.seed != null) sampling.seed = body.seed
  return {
    model: body.model === 'default' ? undefined : body.model,
    sampling,
    watermark,
    stream: body.stream === true,
  }
}

const keyIdOf = (body: Common) => body.watermark_key_id ?? body.metadata?.watermark_key_id

/** Turns the generation's events into OpenAI chunks; `delta` builds one choice around a text piece. */
function chunkEncoder(
  gen: Generation,
  base: { object: string; created: number; model: string },
  delta: (text: string, first: boolean) => Record<string, unknown>,
  last: Record<string, unknown>,
  includeUsage: boolean,
) {
  let first = true
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    sseFrame(null, JSON.stringify({ id: gen.id, ...base, system_fingerprint: null, choices, ...extra }))
  return (ev: GenerateEvent): Uint8Array[] => {
    if (ev.event === 'error') return [sseFrame(null, JSON.stringify(ev.data))]
    const out: Uint8Array[] = []
    const text = ev.event === 'token' ? ev.data.text : ''
    if (first || text) {
      out.push(frame([{ index: 0, ...delta(text, first), logprobs: null, finish_reason: null }]))
      first = false
    }
    if (ev.event === 'done') {
      out.push(
        frame([{ index: 0, ...last, logprobs: null, finish_reason: finishReason(ev.data.finishReason) }]),
      )
      if (includeUsage) out.push(frame([], { usage: usage(ev.data) }))
      out.push(DONE)
    }
    return out
  }
}

/** What differs between the two OpenAI endpoints: object names and how a choice carries text. */
interface Shape {
  endpoint: GenerationContext['endpoint']
  object: string
  chunkObject: string
  /** The choice of a complete (non-streaming) answer, without index / logprobs / finish_reason. */
  choice(text: string): Record<string, unknown>
  /** A stream chunk's choice around one text piece (`first`: the first chunk). */
  delta(text: string, first: boolean): Record<string, unknown>
  /** The choice of the closing chunk (with finish_reason). */
  last: Record<string, unknown>
}

const chatShape: Shape = {
  endpoint: 'chat.completions',
  object: 'chat.completion',
  chunkObject: 'chat.completion.chunk',
  choice: (text) => ({ message: { role: 'assistant', content: text, refusal: null } }),
  delta: (text, first) => ({ delta: first ? { role: 'assistant', content: text } : { content: text } }),
  last: { delta: {} },
}

const completionShape: Shape = {
  endpoint: 'completions',
  object: 'text_completion',
  chunkObject: 'text_completion',
  choice: (text) => ({ text }),
  delta: (text) => ({ text }),
  last: { text: '' },
}

/** Runs the generation and answers in the endpoint's shape: one JSON object, or an SSE stream. */
async function serve(
  ctx: OpenAiContext,
  body: Common,
  input: Record<string, unknown>,
  shape: Shape,
): Promise<Response> {
  const watermark = await resolveWatermark(ctx.store, ctx.tenant, keyIdOf(body))
  const request = GenerateRequestSchema.parse({ ...protocolFields(body, watermark), ...input })
  const gen = await startGeneration({ ...ctx, endpoint: shape.endpoint }, request)
  const created = Math.floor(Date.now() / 1000)
  const headers = generationHeaders(gen)
  if (!request.stream) {
    const r = await collectResult(gen)
    return Response.json(
      {
        id: gen.id,
        object: shape.object,
        created,
        model: r.model,
        system_fingerprint: null,
        choices: [
          { index: 0, ...shape.choice(r.text), logprobs: null, finish_reason: finishReason(r.finishReason) },
        ],
        usage: usage(r),
        watermark: r.watermark,
      },
      { headers },
    )
  }
  const encode = chunkEncoder(
    gen,
    { object: shape.chunkObject, created, model: body.model },
    shape.delta,
    shape.last,
    body.stream_options?.include_usage === true,
  )
  return eventStreamResponse(gen, encode, headers)
}

/** POST /v1/chat/completions */
export function chatCompletions(ctx: OpenAiContext, body: ChatRequest): Promise<Response> {
  const messages = body.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: textOf(m.content),
  }))
  return serve(ctx, body, { messages }, chatShape)
}

/** POST /v1/completions */
export function completions(ctx: OpenAiContext, body: CompletionRequest): Promise<Response> {
  return serve(
    ctx,
    body,
    { prompt: typeof body.prompt === 'string' ? body.prompt : body.prompt[0] },
    completionShape,
  )
}
