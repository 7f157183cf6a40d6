// Reads a JSON body and validates it with a zod schema; bad JSON and schema failures are 400s
// whose message names each offending field.
import type { Context } from 'hono'
import type { z } from 'zod'
import { ApiError, ERROR_CODES } from './errors.ts'

/** "path: message" for each issue, e.g. `sampling.topP: Too big: expected number to be <=1`. */
export function describeZodIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ')
}

/** The parsed body and the raw JSON (to tell which defaults the client left out). */
export async function readJsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
): Promise<{ parsed: z.infer<S>; raw: unknown }> {
  let raw: unknown
  try {
    raw = JSON.parse(await c.req.text())
  } catch {
    throw new ApiError(400, ERROR_CODES.invalidJson, 'the body is not valid JSON')
  }
  const result = schema.safeParse(raw)
  if (!result.success)
    throw new ApiError(400, ERROR_CODES.invalidRequest, describeZodIssues(result.error.issues))
  return { parsed: result.data, raw }
}
