// The official `openai` SDK, unchanged, against the edge served by @hono/node-server on 127.0.0.1
// (and a fake origin behind it): chat and text completions, streaming and not, usage, the watermark
// key extension, and errors surfacing as APIError with their status.
import { type ServerType, serve } from '@hono/node-server'
import OpenAI, { APIError } from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeOrigin, generationDeps, startFakeOrigin } from '../../test/fake-origin.ts'
import { createApp } from './app.ts'
import { createOriginClient } from './origin-client.ts'
import { MemoryStore } from './store.ts'

const SECRET = 'origin-signing-secret-for-tests'
const store = new MemoryStore()
let fake: FakeOrigin
let server: ServerType
let client: OpenAI
let unretried: OpenAI

beforeAll(async () => {
  fake = await startFakeOrigin(SECRET)
  const app = createApp(
    generationDeps(
      store,
      createOriginClient({ url: fake.url, signingSecret: SECRET, idleTimeoutMs: 5000, threshold: 1000 }),
    ),
  )
  const tenant = await store.createTenant('sdk')
  const apiKey = (await store.createApiKey(tenant.id))!.key
  await store.createKey({
    id: 'wk_sdk',
    tenantId: tenant.id,
    scheme: 'kgw-lefthash',
    params: {},
    tokenizer: 'qwen3',
  })
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port))
  })
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey })
  unretried = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey, maxRetries: 0 })
})
afterAll(async () => {
  await new Promise((r) => server.close(r))
  await fake.close()
})
beforeEach(() => {
  fake.mode = 'ok'
  fake.tokens = 5
})

const FAKE_TEXT = ' city of atlanta election was'
const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Tell me about the jury' },
]

async function apiError(p: Promise<unknown>): Promise<APIError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(APIError)
    return e as APIError
  }
  throw new Error('expected an APIError')
}

describe('openai SDK against the edge', () => {
  it('chat.completions.create: text, finish reason, usage, watermarked with the tenant key', async () => {
    const r = await client.chat.completions.create({ model: 'default', messages, seed: 4, max_tokens: 16 })
    expect(r.object).toBe('chat.completion')
    expect(r.choices[0].message).toMatchObject({ role: 'assistant', content: FAKE_TEXT })
    expect(r.choices[0].finish_reason).toBe('stop')
    expect(r.usage).toEqual({ prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 })
    expect((r as unknown as { watermark: unknown }).watermark).toEqual({
      keyId: 'wk_sdk',
      scheme: 'kgw-lefthash',
    })
    const sent = fake.requests.at(-1)!
    expect(sent.signature).toBeNull()
    expect(sent.request).toMatchObject({
      messages,
      sampling: { seed: 4, maxTokens: 16 },
      watermark: { keyId: 'wk_sdk', scheme: 'kgw-lefthash' },
    })
    expect(sent.request!.model).toBeUndefined() // "default": the origin's default model
  })
  it('chat.completions.create with stream: deltas, finish reason, usage chunk, [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'brown-lm',
      messages,
      seed: 4,
      max_completion_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let finish: string | null = null
    let usage: OpenAI.CompletionUsage | null | undefined
    let roles = 0
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk')
      const c = chunk.choices[0]
      if (c?.delta.role) roles++
      text += c?.delta.content ?? ''
      finish = c?.finish_reason ?? finish
      usage = chunk.usage ?? usage
    }
    expect(roles).toBe(1)
    expect(text).toBe(' city of atlanta')
    expect(finish).toBe('length')
    expect(usage).toEqual({ prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 })
    expect(fake.requests.at(-1)!.request).toMatchObject({ model: 'brown-lm', sampling: { maxTokens: 3 } })
  })
  it('completions.create, plain and streamed; the key extension in metadata or a top-level field', async () => {
    const r = await client.completions.create({
      model: 'default',
      prompt: 'The jury said',
      max_tokens: 2,
      min_tokens: 1, // vLLM's extension
      temperature: 0.5,
      top_p: 0.9,
      stop: ['\n'],
      metadata: { watermark_key_id: 'none' },
    } as OpenAI.CompletionCreateParamsNonStreaming)
    expect(r.object).toBe('text_completion')
    expect(r.choices[0]).toMatchObject({ text: ' the jury', finish_reason: 'length' })
    expect(r.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 })
    expect(fake.requests.at(-1)!.request).toMatchObject({
      prompt: 'The jury said',
      watermark: null,
      sampling: { maxTokens: 2, minTokens: 1, temperature: 0.5, topP: 0.9, stop: ['\n'] },
    })
    const stream = await client.completions.create({
      model: 'default',
      prompt: 'The jury said',
      stream: true,
      watermark_key_id: 'wk_sdk',
    } as OpenAI.CompletionCreateParamsStreaming)
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? ''
    expect(text).toBe(' the jury said that city')
    expect(fake.requests.at(-1)!.request!.watermark?.keyId).toBe('wk_sdk')
  })
  it('surfaces errors as APIError with status, code and message', async () => {
    const notFound = await apiError(
      client.chat.completions.create({
        model: 'default',
        messages,
        metadata: { watermark_key_id: 'wk_other' },
      }),
    )
    expect([notFound.status, notFound.code]).toEqual([404, 'key_not_found'])
    expect(notFound.message).toContain('wk_other')
    const many = await apiError(client.chat.completions.create({ model: 'default', messages, n: 2 }))
    expect([many.status, many.code]).toEqual([400, 'invalid_request'])
    expect(many.message).toContain('n: only n = 1 is supported')
    const tools = await apiError(
      client.chat.completions.create({
        model: 'default',
        messages,
        tools: [{ type: 'function', function: { name: 'f' } }],
      }),
    )
    expect([tools.status, tools.message]).toEqual([400, expect.stringContaining('tools')])
    fake.mode = 'busy'
    const busy = await apiError(unretried.completions.create({ model: 'default', prompt: 'x' }))
    expect([busy.status, busy.code, busy.headers?.get('retry-after')]).toEqual([503, 'origin_busy', '7'])
    fake.mode = 'reject'
    const model = await apiError(client.chat.completions.create({ model: 'gpt-9', messages }))
    expect([model.status, model.code]).toEqual([400, 'model_not_found'])
  })
  it('a stream the origin cuts mid-way throws APIError in the SDK instead of ending quietly', async () => {
    for (const mode of ['cut-mid', 'error-mid'] as const) {
      fake.mode = mode
      const stream = await client.chat.completions.create({ model: 'default', messages, stream: true })
      let text = ''
      const err = await apiError(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
        })(),
      )
      expect(text).toBe(' the jury')
      expect(err.code).toBe(mode === 'cut-mid' ? 'origin_stream_cut' : 'engine_failed')
    }
  })
})
