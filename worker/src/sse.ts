// Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html): an incremental
// decoder for the origin's stream and the frame writer for ours. An event is dispatched only at its
// blank line, so a stream cut inside an event never yields half of it.

export interface SseMessage {
  /** The `event:` field; "message" when absent. */
  event: string
  /** The `data:` lines joined with "\n". */
  data: string
}

/**
 * Decodes text chunks (split anywhere, even inside a CRLF) into complete events; comments and
 * fields other than event/data are skipped.
 *
 * @example
 * const d = new SseDecoder()
 * d.push('event: token\ndata: {"i"') // []
 * d.push(':1}\n\n') // [{ event: 'token', data: '{"i":1}' }]
 */
export class SseDecoder {
  private buffer = ''
  private event = ''
  private data: string[] = []

  push(chunk: string): SseMessage[] {
    this.buffer += chunk
    const out: SseMessage[] = []
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer)
      if (!m) break
      // A lone CR at the end may be the first half of a CRLF split across chunks.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break
      const line = this.buffer.slice(0, m.index)
      this.buffer = this.buffer.slice(m.index + m[0].length)
      this.line(line, out)
    }
    return out
  }

  /** The stream ended: a held-back trailing CR was a line end after all. Incomplete events are dropped. */
  end(): SseMessage[] {
    if (!this.buffer.endsWith('\r')) return []
    return this.push('\n')
  }

  private line(line: string, out: SseMessage[]) {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') })
      this.event = ''
      this.data = []
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
  }
}

const enc = new TextEncoder()

/** One SSE frame; `event` null writes an unnamed event (what OpenAI's streams use). */
export function sseFrame(event: string | null, data: string): Uint8Array {
  const lines = data.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`)
  return enc.encode(`${event ? `event: ${event}\n` : ''}${lines.join('')}\n`)
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // Proxies (nginx) otherwise buffer the stream and the client sees it all at the end.
  'x-accel-buffering': 'no',
} as const
