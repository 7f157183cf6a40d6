// Origin traces end to end: the origin app (real brown-lm, real tokenizer) exports over OTLP/HTTP JSON
// to an in-test receiver; spans continue the edge's `traceparent`, carry the expected names and
// attributes, and never a prompt, text or secret. Without an endpoint nothing of the SDK is created.
import { trace } from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { GenerateResult } from '../core/generation/protocol.ts'
import { attributesOf, startOtlpReceiver, valueOf } from '../test/otlp-receiver.ts'
import {
  parseSse,
  TEST_MASTER_SECRET,
  type TestOrigin,
  createTestOrigin,
  loadTestModel,
} from './test-support.ts'
import { type OriginTracing, readTracingConfig, startOriginTracing, traceModelLoad } from './tracing.ts'

// Counts exporters without changing them: "off" must create none.
const exporters = vi.hoisted(() => ({ created: 0 }))
vi.mock('@opentelemetry/exporter-trace-otlp-http', async (importOriginal) => {
  const real = await importOriginal<typeof import('@opentelemetry/exporter-trace-otlp-http')>()
  class CountedExporter extends real.OTLPTraceExporter {
    constructor(...args: ConstructorParameters<typeof real.OTLPTraceExporter>) {
      super(...args)
      exporters.created++
    }
  }
  return { ...real, OTLPTraceExporter: CountedExporter }
})

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`
const PROMPT = 'The Fulton County Grand Jury said Friday an investigation of'
const BASIC = 'Basic dGVzdC1pbnN0YW5jZTp0ZXN0LXRva2Vu'

const nanos = (t: string | number) => BigInt(String(t))

describe('tracing off', () => {
  it('without an endpoint (or with OTEL_SDK_DISABLED) creates no exporter and registers nothing', async () => {
    expect(readTracingConfig({})).toBeNull()
    expect(
      readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeNull()
    const tracing = await startOriginTracing({ OTEL_SERVICE_NAME: 'ignored' })
    expect(tracing.enabled).toBe(false)
    expect(exporters.created).toBe(0)
    // the global API is still the no-op one: spans record nothing and carry no ids
    const span = trace.getTracer('probe').startSpan('probe')
    expect(span.isRecording()).toBe(false)
    expect(trace.isSpanContextValid(span.spanContext())).toBe(false)
    await tracing.shutdown()
  })

  it('reads the standard OTLP variables', () => {
    expect(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp-gateway.example/otlp/' })).toEqual({
      url: 'https://otlp-gateway.example/otlp/v1/traces',
      headers: {},
      serviceName: 'wmlab-origin',
    })
    const config = readTracingConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://ignored.example',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/v1/traces',
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=${encodeURIComponent(BASIC)},x-scope=a`,
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-scope=b',
      OTEL_SERVICE_NAME: 'origin-gpu-1',
    })
    expect(config).toEqual({
      url: 'https://tempo.example/v1/traces',
      headers: { Authorization: BASIC, 'x-scope': 'b' },
      serviceName: 'origin-gpu-1',
    })
    expect(() => readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grafana.net/otlp' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    )
  })
})

describe('tracing to an OTLP receiver', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>
  let tracing: OriginTracing
  let origin: TestOrigin

  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    tracing = await startOriginTracing({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=${encodeURIComponent(BASIC)}`,
    })
    origin = createTestOrigin(await traceModelLoad('brown-lm', 'cpu', () => loadTestModel()), { tracing })
  })
  afterAll(async () => {
    await tracing?.shutdown()
    await origin?.engine.release()
    await receiver?.close()
  })

  /** The spans of the header's trace, by name, after a flush. */
  async function spansOfTrace() {
    await tracing.forceFlush()
    const spans = receiver.spans().filter((s) => s.traceId === TRACE_ID)
    return (name: string) => spans.filter((s) => s.name === name)
  }

  it('exports the server span and the generation span of the edge’s trace, without texts or secrets', async () => {
    expect(tracing.enabled).toBe(true)
    expect(exporters.created).toBe(1)
    const res = await origin.post(
      '/v1/generate',
      {
        prompt: PROMPT,
        sampling: { maxTokens: 8, minTokens: 8, seed: 5 },
        watermark: { keyId: 'wk_trace', scheme: 'kgw-lefthash' },
      },
      { headers: { traceparent: TRACEPARENT } },
    )
    expect(res.status).toBe(200)
    const result = (await res.json()) as GenerateResult
    const named = await spansOfTrace()

    const [server] = named('POST /v1/generate')
    expect(server).toBeDefined()
    expect(server.kind).toBe(2) // SPAN_KIND_SERVER
    expect(server.parentSpanId).toBe(PARENT_ID)
    expect(attributesOf(server.attributes)).toEqual({
      'http.request.method': 'POST',
      'http.route': '/v1/generate',
      'http.response.status_code': 200,
    })
    const [generation] = named('wmlab.generate')
    expect(generation.parentSpanId).toBe(server.spanId)
    expect(attributesOf(generation.attributes)).toEqual({
      'wmlab.model': 'brown-lm',
      'wmlab.scheme': result.watermark?.scheme,
      'wmlab.prompt_tokens': result.usage.promptTokens,
      'wmlab.max_tokens': 8,
      'wmlab.tokens': 8,
      'wmlab.finish_reason': 'length',
    })
    expect(result.watermark?.scheme).toBe('kgw-lefthash')

    const export0 = receiver.received[0]
    expect(export0.headers.authorization).toBe(BASIC)
    expect(export0.headers['content-type']).toMatch(/^application\/json/)
    const resource = attributesOf(export0.body.resourceSpans[0].resource.attributes)
    expect(resource['service.name']).toBe('wmlab-origin')

    // no attribute value anywhere quotes the prompt, the generated text or a secret
    const values = receiver
      .spans()
      .flatMap((s) => s.attributes.map((a) => String(valueOf(a.value))))
      .concat(
        receiver.received.flatMap((r) =>
          r.body.resourceSpans[0].resource.attributes.map((a) => String(valueOf(a.value))),
        ),
      )
    for (const v of values) {
      expect(v).not.toContain(PROMPT.slice(0, 20))
      if (result.text.trim().length > 3) expect(v).not.toContain(result.text.trim())
    }
    for (const r of receiver.received) {
      expect(r.raw).not.toContain('Fulton County')
      expect(r.raw).not.toContain(TEST_MASTER_SECRET)
    }
  })

  it('keeps a streamed generation inside its server span, which ends with the stream', async () => {
    const res = await origin.post(
      '/v1/generate',
      { prompt: PROMPT, sampling: { maxTokens: 8, minTokens: 8, seed: 6 }, stream: true },
      { headers: { traceparent: `00-${TRACE_ID}-${'1'.repeat(16)}-01` } },
    )
    expect(parseSse(await res.text()).at(-1)?.event).toBe('done')
    const named = await spansOfTrace()
    const server = named('POST /v1/generate').find((s) => s.parentSpanId === '1'.repeat(16))!
    const generation = named('wmlab.generate').find((s) => s.parentSpanId === server.spanId)!
    expect(attributesOf(generation.attributes)).toMatchObject({ 'wmlab.scheme': 'none', 'wmlab.tokens': 8 })
    // The generation ends (in code) before the done event closes the stream. Span timestamps come from
    // the SDK's anchored clocks (Date.now + performance.now), which can disagree by a fraction of a
    // millisecond under load, so allow 5 ms; a server span that ended at the response headers (the bug
    // this guards against) ends a whole generation earlier.
    const slackNs = 5_000_000n
    expect(nanos(server.endTimeUnixNano) + slackNs).toBeGreaterThanOrEqual(nanos(generation.endTimeUnixNano))
    expect(nanos(server.endTimeUnixNano) - nanos(server.startTimeUnixNano)).toBeGreaterThan(
      nanos(generation.endTimeUnixNano) - nanos(generation.startTimeUnixNano) - slackNs,
    )
  })

  it('traces scoring, marks a failed scoring, and records refusals on the server span', async () => {
    const parent = `00-${TRACE_ID}-${'2'.repeat(16)}-01`
    const ok = await origin.post(
      '/v1/score',
      { text: ' the jury said', context: PROMPT },
      { headers: { traceparent: parent } },
    )
    expect(ok.status).toBe(200)
    const tooLong = await origin.post(
      '/v1/score',
      { text: 'the '.repeat(1100), context: '' },
      { headers: { traceparent: parent } },
    )
    expect(tooLong.status).toBe(400)
    const unsigned = await origin.post(
      '/v1/score',
      { text: ' the jury said' },
      { signed: false, headers: { traceparent: parent } },
    )
    expect(unsigned.status).toBe(401)
    const named = await spansOfTrace()

    const servers = named('POST /v1/score').filter((s) => s.parentSpanId === '2'.repeat(16))
    expect(servers.map((s) => attributesOf(s.attributes)['http.response.status_code']).sort()).toEqual([
      200, 400, 401,
    ])
    // 4xx is the client's failure, not the server span's (OpenTelemetry HTTP semantic conventions)
    expect(servers.every((s) => (s.status?.code ?? 0) !== 2)).toBe(true)
    const scores = named('wmlab.score').filter((s) => servers.some((p) => p.spanId === s.parentSpanId))
    expect(scores).toHaveLength(2) // the unsigned request never reached the model
    const [done, failed] = scores.sort((a, b) =>
      Number(nanos(a.startTimeUnixNano) - nanos(b.startTimeUnixNano)),
    )
    expect(attributesOf(done.attributes)).toEqual({
      'wmlab.model': 'brown-lm',
      'wmlab.tokens': origin.tokenizer.encode(' the jury said').length,
    })
    expect(failed.status?.code).toBe(2) // STATUS_CODE_ERROR
    expect(attributesOf(failed.attributes)).toEqual({
      'wmlab.model': 'brown-lm',
      'error.type': 'context_too_long',
    })
  })

  it('traces the model load once, as a trace of its own', async () => {
    await tracing.forceFlush()
    const loads = receiver.spans().filter((s) => s.name === 'wmlab.model_load')
    expect(loads).toHaveLength(1)
    expect(loads[0].parentSpanId ?? '').toBe('')
    expect(attributesOf(loads[0].attributes)).toEqual({ 'wmlab.model': 'brown-lm', 'wmlab.device': 'cpu' })
  })
})
