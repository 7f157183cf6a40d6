// An in-test OTLP/HTTP traces receiver (JSON): keeps every POST to /otlp/v1/traces with its headers, and
// can refuse the next N with 503 (an endpoint that is down). Shared by the edge's and the origin's
// tracing tests.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface OtlpValue {
  stringValue?: string
  intValue?: number | string
  boolValue?: boolean
  doubleValue?: number
}
export interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string | number
  endTimeUnixNano: string | number
  attributes: { key: string; value: OtlpValue }[]
  status?: { code?: number }
}
export interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: OtlpValue }[] }
    scopeSpans: { spans: OtlpSpan[] }[]
  }[]
}

export async function startOtlpReceiver() {
  const received: { headers: IncomingHttpHeaders; body: OtlpRequest; raw: string }[] = []
  let refuse = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/otlp/v1/traces') return void res.writeHead(404).end()
      const raw = Buffer.concat(chunks).toString('utf8')
      received.push({ headers: req.headers, body: JSON.parse(raw), raw })
      if (refuse > 0) {
        refuse--
        return void res.writeHead(503).end()
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    /** The OTLP base URL (append /v1/traces for a traces URL). */
    url: `http://127.0.0.1:${port}/otlp`,
    received,
    /** Every span of every request received so far. */
    spans: () =>
      received.flatMap((r) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans))),
    /** Answers the next `n` requests with 503 (after keeping them). */
    refuseNext(n: number) {
      refuse = n
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

export const valueOf = (v: OtlpValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue))
export const attributesOf = (attrs: { key: string; value: OtlpValue }[]) =>
  Object.fromEntries(attrs.map((a) => [a.key, valueOf(a.value)]))
