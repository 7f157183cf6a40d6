// Server-sent events for a streamed generation (core/generation/protocol.ts GenerateEvent). The
// stream's cancel (the client went away) aborts the producer, so generation stops and its slot frees.
import type { GenerateEvent } from '../core/generation/protocol.ts'

const enc = new TextEncoder()

export const formatEvent = (ev: GenerateEvent | { comment: string }): string =>
  'comment' in ev ? `: ${ev.comment}\n\n` : `event: ${ev.event}\ndata: ${JSON.stringify(ev.data)}\n\n`

/**
 * A text/event-stream response fed by `produce`. `signal` aborts when the client cancels the body;
 * the stream closes when `produce` settles, whatever the outcome — `produce` itself must emit the
 * final `done` or `error` event.
 */
export function eventStream(
  produce: (emit: (ev: GenerateEvent | { comment: string }) => void, signal: AbortSignal) => Promise<void>,
): Response {
  const cancelled = new AbortController()
  const signal = cancelled.signal
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const emit = (ev: GenerateEvent | { comment: string }) => {
        if (!signal.aborted) controller.enqueue(enc.encode(formatEvent(ev)))
      }
      void produce(emit, signal)
        .catch((err: unknown) => console.error('origin: event stream producer failed', err))
        .finally(() => {
          try {
            controller.close()
          } catch {
            // already cancelled by the client
          }
        })
    },
    cancel(reason) {
      cancelled.abort(reason ?? new Error('client cancelled the stream'))
    },
  })
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    },
  })
}
