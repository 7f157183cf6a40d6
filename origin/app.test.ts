// The origin over HTTP (in process, real model and tokenizer): the protocol's JSON and SSE shapes,
// seeds, stop sequences, greedy decoding, chat templates, scoring, refusals with their JSON errors,
// health and metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderChat } from '../core/generation/chat-template.ts'
import type { GenerateResult, ScoreResult } from '../core/generation/protocol.ts'
import { deriveKeyMaterial } from '../core/keys/watermark-key.ts'
import { argmax } from '../core/schemes/sampling.ts'
import type { Engine } from './engine/types.ts'
import { logprobAndEntropy } from './score.ts'
import {
  createTestOrigin,
  loadTestModel,
  parseSse,
  TEST_MASTER_SECRET,
  TEST_SIGNING_SECRET,
  type TestOrigin,
  waitFor,
} from './test-support.ts'

let origin: TestOrigin
const PROMPT = 'The Fulton County Grand Jury said Friday an investigation of'

beforeAll(async () => {
  origin = createTestOrigin(await loadTestModel())
})
afterAll(async () => {
  await origin?.engine.release()
})

const errorOf = async (res: Response) => {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  return ((await res.json()) as { error: { code: string; message: string } }).error
}

describe('POST /v1/generate', () => {
  it('same seed and request give the same text; another seed gives another', async () => {
    const req = { prompt: PROMPT, sampling: { maxTokens: 24, minTokens: 24, seed: 7 } }
    const a = await origin.generate(req)
    const b = await origin.generate(req)
    const c = await origin.generate({ ...req, sampling: { ...req.sampling, seed: 8 } })
    expect(a.tokens).toHaveLength(24)
    expect(b.tokens).toEqual(a.tokens)
    expect(b.text).toBe(a.text)
    expect(c.tokens).not.toEqual(a.tokens)
    expect(a).toMatchObject({ model: 'brown-lm', finishReason: 'length', watermark: null })
    expect(a.text).toBe(origin.tokenizer.decode(a.tokens))
    expect(a.usage).toEqual({
      promptTokens: origin.model.startIds.length + origin.tokenizer.encode(PROMPT).length,
      completionTokens: 24,
    })
    expect(a.timing.firstTokenMs).toBeGreaterThan(0)
    expect(a.timing.totalMs).toBeGreaterThanOrEqual(a.timing.firstTokenMs)
    expect(a.timing.tokensPerSecond).toBeGreaterThan(0)
  })

  it('greedy decoding (temperature 0) follows the argmax of the model, whatever the seed', async () => {
    const greedy = { prompt: PROMPT, sampling: { temperature: 0, maxTokens: 6, minTokens: 6 } }
    const a = await origin.generate({ ...greedy, sampling: { ...greedy.sampling, seed: 1 } })
    const b = await origin.generate({ ...greedy, sampling: { ...greedy.sampling, seed: 2 } })
    expect(b.tokens).toEqual(a.tokens)
    const ids = [...origin.model.startIds, ...origin.tokenizer.encode(PROMPT)]
    expect(a.tokens[0]).toBe(argmax(await origin.engine.open().prefill(ids)))
  })

  it('ends at a stop sequence, trims it, and streams exactly the trimmed text', async () => {
    const base = { prompt: PROMPT, sampling: { maxTokens: 40, minTokens: 40, seed: 11 } }
    const free = await origin.generate(base)
    // a stop string that starts in the middle of the text and occurs there first
    const at = Math.floor(free.text.length / 2)
    const stop = free.text.slice(at, at + 4)
    const cut = free.text.indexOf(stop)
    const stopped = await origin.generate({ ...base, sampling: { ...base.sampling, stop: [stop] } })
    expect(stopped.finishReason).toBe('stop')
    expect(stopped.text).toBe(free.text.slice(0, cut))
    expect(stopped.tokens).toEqual(free.tokens.slice(0, stopped.tokens.length))
    const res = await origin.post('/v1/generate', {
      ...base,
      sampling: { ...base.sampling, stop: [stop] },
      stream: true,
    })
    const events = parseSse(await res.text())
    const tokens = events.filter((e) => e.event === 'token').map((e) => e.data as { text: string })
    expect(tokens.map((t) => t.text).join('')).toBe(stopped.text)
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { text: stopped.text, finishReason: 'stop' } })
  })

  it('streams SSE: token events with consecutive indexes, then one done event with the result', async () => {
    const req = { prompt: PROMPT, sampling: { maxTokens: 12, minTokens: 12, seed: 3 } }
    const res = await origin.post('/v1/generate', { ...req, stream: true })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const events = parseSse(await res.text())
    const done = events.at(-1)!
    expect(done.event).toBe('done')
    const tokenEvents = events.slice(0, -1)
    expect(tokenEvents.every((e) => e.event === 'token')).toBe(true)
    const result = done.data as GenerateResult
    const pieces = tokenEvents.map((e) => e.data as { index: number; token: number; text: string })
    expect(pieces.map((p) => p.index)).toEqual(result.tokens.map((_, i) => i))
    expect(pieces.map((p) => p.token)).toEqual(result.tokens)
    expect(pieces.map((p) => p.text).join('')).toBe(result.text)
    // the stream and the JSON answer agree for the same seed
    expect((await origin.generate(req)).tokens).toEqual(result.tokens)
  })

  it('interleave: every `every` free tokens one step picks among the choices (the emoji attack)', async () => {
    // Ids brown-lm never produces (−∞ logits): a constrained step must still choose one of them.
    const choices = [origin.tokenizer.encode(' zebra')[0], origin.tokenizer.encode(' quasar')[0]]
    const r = await origin.generate({
      prompt: PROMPT,
      sampling: { maxTokens: 12, minTokens: 12, seed: 5, interleave: { every: 2, choices } },
    })
    expect(r.tokens).toHaveLength(12)
    r.tokens.forEach((t, i) => {
      if ((i + 1) % 3 === 0) expect(choices).toContain(t)
      else expect(choices).not.toContain(t)
    })
  })

  it('renders chat messages with the model template', async () => {
    const messages = [
      { role: 'system' as const, content: 'Write like a newspaper.' },
      { role: 'user' as const, content: 'The city council met on Monday.' },
    ]
    const r = await origin.generate({ messages, sampling: { maxTokens: 4, seed: 1 } })
    const rendered = renderChat(origin.model.chatTemplate, messages)
    expect(r.usage.promptTokens).toBe(origin.model.startIds.length + origin.tokenizer.encode(rendered).length)
  })
})

describe('refusals are JSON errors with a 4xx', () => {
  it.each([
    ['not JSON', '{"prompt":', 'invalid_json', /not valid JSON/],
    [
      'prompt and messages',
      { prompt: 'a', messages: [{ role: 'user', content: 'b' }] },
      'invalid_request',
      /exactly one/,
    ],
    ['top-p out of range', { prompt: 'a', sampling: { topP: 2 } }, 'invalid_request', /sampling\.topP/],
    ['an unknown field', { prompt: 'a', temperature: 1 }, 'invalid_request', /temperature/],
    ['another model', { prompt: 'a', model: 'gpt-4' }, 'unknown_model', /serves model "brown-lm"/],
    [
      'greedy with a watermark',
      { prompt: 'a', sampling: { temperature: 0 }, watermark: { keyId: 'k', scheme: 'unigram' } },
      'greedy_watermark',
      /temperature 0/,
    ],
    [
      'an unknown scheme',
      { prompt: 'a', watermark: { keyId: 'k', scheme: 'nope' } },
      'unknown_scheme',
      /known: kgw-lefthash/,
    ],
    [
      'bad scheme params',
      { prompt: 'a', watermark: { keyId: 'k', scheme: 'kgw-lefthash', params: { gamma: 5 } } },
      'invalid_watermark_params',
      /gamma/,
    ],
    [
      'a key in params',
      { prompt: 'a', watermark: { keyId: 'k', scheme: 'unigram', params: { key: 1 } } },
      'invalid_watermark_params',
      /may not set key/,
    ],
    [
      'more than the context',
      { prompt: 'a', sampling: { maxTokens: 4000 } },
      'context_too_long',
      /context of \d+ tokens/,
    ],
  ])('%s', async (_name, body, code, message) => {
    const res = await origin.post('/v1/generate', body)
    expect(res.status).toBe(400)
    const error = await errorOf(res)
    expect(error.code).toBe(code)
    expect(error.message).toMatch(message)
    // key material never leaves the origin
    const material = await deriveKeyMaterial(TEST_MASTER_SECRET, 'k')
    expect(error.message).not.toContain(String(material))
    expect(error.message).not.toContain(TEST_MASTER_SECRET)
  })

  it('score and unknown routes answer the same envelope', async () => {
    expect((await errorOf(await origin.post('/v1/score', { context: 'x' }))).code).toBe('invalid_request')
    const res = await origin.app.request('/nope')
    expect(res.status).toBe(404)
    expect((await errorOf(res)).code).toBe('not_found')
  })
})

describe('POST /v1/score', () => {
  it('gives per-token logprobs and entropies consistent with the model, and their perplexity', async () => {
    const text = ' found that the city had spent the money'
    const res = await origin.post('/v1/score', { text, context: PROMPT })
    expect(res.status).toBe(200)
    const r = (await res.json()) as ScoreResult
    expect(r.tokens).toEqual(Array.from(origin.tokenizer.encode(text)))
    expect(r.logprobs).toHaveLength(r.tokens.length)
    expect(r.entropies).toHaveLength(r.tokens.length)
    for (const lp of r.logprobs) expect(lp).toBeLessThan(0)
    // entropy of a distribution over at most vocabSize ids
    for (const h of r.entropies) expect(h).toBeGreaterThan(0)
    for (const h of r.entropies) expect(h).toBeLessThanOrEqual(Math.log(origin.model.vocabSize))
    const mean = r.logprobs.reduce<number>((a, b) => a + b!, 0) / r.logprobs.length
    expect(r.perplexity).toBeCloseTo(Math.exp(-mean), 6)
    // the first token is scored after the context, exactly as the engine's own row says
    const ids = [...origin.model.startIds, ...origin.tokenizer.encode(PROMPT)]
    const first = logprobAndEntropy(await origin.engine.open().prefill(ids), r.tokens[0])
    expect(r.logprobs[0]).toBeCloseTo(first.logprob, 4)
    expect(r.entropies[0]).toBeCloseTo(first.entropy, 4)
  })

  it('a token the model cannot produce has logprob null and makes the perplexity null (infinite)', async () => {
    // 'Zyzzyva' splits into ids Brown never uses: brown-lm gives them −∞.
    const res = await origin.post('/v1/score', { text: ' the Zyzzyva 🦓', context: PROMPT })
    expect(res.status).toBe(200)
    const r = (await res.json()) as ScoreResult
    expect(r.logprobs.some((l) => l === null)).toBe(true)
    expect(r.logprobs[0]).toBeLessThan(0)
    expect(r.perplexity).toBeNull()
  })
})

describe('GET /health and /metrics (unsigned)', () => {
  it('reports the loaded model and the queue', async () => {
    const res = await origin.app.request('/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      status: 'ok',
      model: { id: 'brown-lm', loaded: true, device: 'cpu' },
      queue: { depth: 0, inFlight: 0, maxConcurrency: 2, maxQueue: 16 },
    })
  })

  it('exposes the origin metrics in Prometheus text', async () => {
    await origin.generate({ prompt: PROMPT, sampling: { maxTokens: 3, seed: 1 } })
    const text = await (await origin.app.request('/metrics')).text()
    expect(text).toMatch(/^model_loads_total\{model="brown-lm",outcome="success"\} 1$/m)
    expect(text).toMatch(/^model_load_duration_seconds_count\{model="brown-lm"\} 1$/m)
    expect(text).toMatch(/^watermark_generations_total\{scheme="none",outcome="success"\} [1-9]/m)
    expect(text).toMatch(/^generation_tokens_total\{scheme="none"\} [1-9]/m)
    expect(text).toMatch(/^generation_token_duration_seconds_count\{scheme="none"\} [1-9]/m)
    expect(text).toMatch(/^origin_queue_depth 0$/m)
    expect(text).toMatch(/^http_requests_total\{method="POST",route="\/v1\/generate",status="200"\} [1-9]/m)
    expect(text).toMatch(/^http_request_duration_seconds_count\{route="\/v1\/generate"\} [1-9]/m)
    expect(text).toMatch(/^process_cpu_seconds_total /m)
    expect(text).not.toContain(TEST_MASTER_SECRET)
  })
})

describe('request logs', () => {
  it('writes one JSON line per request with ids, route, status and latency, and no prompt or secret', async () => {
    const lines: string[] = []
    const logged = createTestOrigin(origin, { log: (l) => lines.push(l) })
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const res = await logged.post(
      '/v1/generate',
      { prompt: 'A private prompt about the jury', sampling: { maxTokens: 2, seed: 3 } },
      { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
    )
    expect(res.status).toBe(200)
    await res.text()
    expect((await logged.post('/v1/generate', '{"prompt":', {})).status).toBe(400)
    expect(lines).toHaveLength(2)
    const [ok, bad] = lines.map((l) => JSON.parse(l))
    expect(ok).toEqual({
      level: 'info',
      msg: 'request',
      requestId: res.headers.get('x-request-id'),
      traceId,
      method: 'POST',
      route: '/v1/generate',
      status: 200,
      latencyMs: expect.any(Number),
    })
    expect(bad).toMatchObject({ level: 'warn', status: 400, traceId: null, route: '/v1/generate' })
    const all = lines.join('\n')
    for (const secret of ['private prompt', TEST_MASTER_SECRET, TEST_SIGNING_SECRET])
      expect(all).not.toContain(secret)
  })
})

/** The real engine, whose sequences fail at their `failAt`-th decode step (fault injection, not a model). */
function failingEngine(engine: Engine, failAt: number): Engine {
  return {
    ...engine,
    open() {
      const seq = engine.open()
      let steps = 0
      return {
        get length() {
          return seq.length
        },
        prefill: (ids, eachRow) => seq.prefill(ids, eachRow),
        decode: async (id) => {
          if (++steps === failAt) throw new Error('onnxruntime: device lost')
          return seq.decode(id)
        },
        release: () => seq.release(),
      }
    },
  }
}

describe('failures and loading', () => {
  it('a failure mid-stream ends the stream with an error event, never a silent cut', async () => {
    const broken = createTestOrigin({ ...origin, engine: failingEngine(origin.engine, 5) })
    const req = { prompt: PROMPT, sampling: { maxTokens: 20, minTokens: 20, seed: 1 } }
    const events = parseSse(await (await broken.post('/v1/generate', { ...req, stream: true })).text())
    expect(events.filter((e) => e.event === 'token').length).toBeGreaterThan(0)
    expect(events.filter((e) => e.event === 'done')).toHaveLength(0)
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { error: { code: 'generation_failed' } } })
    expect(JSON.stringify(events.at(-1))).not.toContain('device lost') // details stay in the log
    const res = await broken.post('/v1/generate', req)
    expect(res.status).toBe(500)
    expect((await errorOf(res)).code).toBe('generation_failed')
    const metrics = await (await broken.app.request('/metrics')).text()
    expect(metrics).toMatch(/^watermark_generations_total\{scheme="none",outcome="error"\} 2$/m)
    expect(metrics).toMatch(/^origin_in_flight 0$/m)
  })

  it('an unexpected error answers 500 internal_error with a fixed message, no error text or stack', async () => {
    // A tokenizer that throws what a library bug might: a message naming a path, with a stack.
    const tokenizer = new Proxy(origin.tokenizer, {
      get(target, prop) {
        if (prop === 'encode')
          return () => {
            throw new TypeError('boom in /srv/secret/tokenizer.json at offset 7')
          }
        const value = Reflect.get(target, prop)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const broken = createTestOrigin(origin, { tokenizer })
    const original = console.error
    const logged: string[] = []
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '))
    try {
      const res = await broken.post('/v1/generate', { prompt: PROMPT, sampling: { maxTokens: 4 } })
      const text = await res.text()
      expect(res.status).toBe(500)
      expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'internal error' } })
      expect(text).not.toMatch(/boom|secret|TypeError|\bat /)
      expect(logged.join('\n')).toContain('boom') // the operator's log has the detail
    } finally {
      console.error = original
    }
    // Nothing about the failure stuck: the real origin still answers.
    expect(
      (await origin.generate({ prompt: PROMPT, sampling: { maxTokens: 2, minTokens: 2 } })).tokens,
    ).toHaveLength(2)
  })

  it('answers health 503 while the model loads; requests wait for it and report the load time', async () => {
    let finishLoad!: (e: Engine) => void
    const loading = createTestOrigin(origin, { engine: new Promise<Engine>((r) => (finishLoad = r)) })
    const health = await loading.app.request('/health')
    expect(health.status).toBe(503)
    expect(await health.json()).toMatchObject({ status: 'loading', model: { loaded: false, device: null } })
    const pending = loading.generate({ prompt: PROMPT, sampling: { maxTokens: 2, seed: 1 } })
    // the request holds a slot and waits for the engine
    await waitFor(async () => (await (await loading.app.request('/health')).json()).queue.inFlight === 1)
    finishLoad(origin.engine)
    const r = await pending
    expect(r.timing.loadMs).toBe(origin.engine.loadMs)
    expect((await loading.app.request('/health')).status).toBe(200)
    // once loaded, results no longer carry the load time
    expect(
      (await loading.generate({ prompt: PROMPT, sampling: { maxTokens: 2 } })).timing.loadMs,
    ).toBeUndefined()
  })

  it('a failed load gives 503 model_unavailable and health "error"', async () => {
    const failed = createTestOrigin(origin, { engine: Promise.reject(new Error('missing onnx/model.onnx')) })
    const res = await failed.post('/v1/generate', { prompt: PROMPT })
    expect(res.status).toBe(503)
    expect((await errorOf(res)).code).toBe('model_unavailable')
    expect(await (await failed.app.request('/health')).json()).toMatchObject({ status: 'error' })
    expect(await (await failed.app.request('/metrics')).text()).toMatch(
      /^model_loads_total\{model="brown-lm",outcome="error"\} 1$/m,
    )
  })
})
