// One error envelope for every failure: {"error":{"code","message"}} with the right status.
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { ZodError } from 'zod'

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

export const errorBody = (code: string, message: string) => ({ error: { code, message } })

/** Names the offending fields; never echoes input values (they may be secrets or user text). */
export function describeZodError(err: ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ')
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return c.json(errorBody(err.code, err.message), err.status, err.headers)
  if (err instanceof ZodError) return c.json(errorBody('invalid_request', describeZodError(err)), 400)
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode
    const code = status === 413 ? 'payload_too_large' : status === 401 ? 'unauthorized' : 'bad_request'
    return c.json(errorBody(code, err.message || 'request rejected'), status)
  }
  if (err instanceof RangeError) return c.json(errorBody('invalid_request', err.message), 400)
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled', error: err.name, detail: err.message }))
  return c.json(errorBody('internal_error', 'internal error'), 500)
}
