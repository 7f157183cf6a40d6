// The origin's one error type and its codes. Every refusal is thrown as an ApiError and rendered by
// app.onError as {"error":{"code","message"}}; messages never carry key material or secrets.
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

export const ERROR_CODES = {
  invalidJson: 'invalid_json',
  invalidRequest: 'invalid_request',
  bodyTooLarge: 'body_too_large',
  unknownModel: 'unknown_model',
  unknownScheme: 'unknown_scheme',
  invalidWatermarkParams: 'invalid_watermark_params',
  greedyWatermark: 'greedy_watermark',
  contextTooLong: 'context_too_long',
  unsigned: 'unsigned',
  badSignature: 'bad_signature',
  staleRequest: 'stale_request',
  replayedRequest: 'replayed_request',
  originBusy: 'origin_busy',
  modelLoading: 'model_loading',
  modelUnavailable: 'model_unavailable',
  generationFailed: 'generation_failed',
  notFound: 'not_found',
  internal: 'internal_error',
} as const

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES]

export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message })
    this.name = 'ApiError'
  }

  /** The envelope both the JSON response and the SSE `error` event carry. */
  toEnvelope(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } }
  }

  override getResponse(): Response {
    return new Response(JSON.stringify(this.toEnvelope()), {
      status: this.status,
      headers: { 'content-type': 'application/json', ...this.headers },
    })
  }
}
