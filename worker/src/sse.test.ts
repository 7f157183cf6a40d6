// The SSE decoder against the spec's edge cases: chunk boundaries anywhere, CRLF split, comments,
// multi-line data, and an event cut before its blank line (never dispatched).
import { describe, expect, it } from 'vitest'
import { SseDecoder, sseFrame } from './sse.ts'

const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('SseDecoder', () => {
  it('decodes the same events whatever the chunking', () => {
    const stream =
      ': keep-alive\r\nevent: token\r\ndata: {"a":1}\r\n\r\ndata: x\ndata: y\n\nevent: done\rdata: 2\r\r'
    const expected = [
      { event: 'token', data: '{"a":1}' },
      { event: 'message', data: 'x\ny' },
      { event: 'done', data: '2' },
    ]
    for (let size = 1; size <= stream.length; size++) {
      const d = new SseDecoder()
      const out = []
      for (let i = 0; i < stream.length; i += size) out.push(...d.push(stream.slice(i, i + size)))
      out.push(...d.end())
      expect(out, `chunks of ${size}`).toEqual(expected)
    }
  })
  it('never dispatches an event whose blank line did not arrive', () => {
    const d = new SseDecoder()
    expect(d.push('event: done\ndata: {"text":"half')).toEqual([])
    expect(d.push('"}\n')).toEqual([])
  })
  it('writes frames the decoder reads back', () => {
    const d = new SseDecoder()
    expect(d.push(text(sseFrame('token', 'a\nb')) + text(sseFrame(null, '[DONE]')))).toEqual([
      { event: 'token', data: 'a\nb' },
      { event: 'message', data: '[DONE]' },
    ])
  })
})
