// The database being unreachable is not a bug in the request: the Store answers it with one clear error,
// 503 database_unavailable (with Retry-After), instead of a 500. Audit writes park their rows when they
// see it (audit-buffer.ts), and the isolate's auth and key-list caches serve their last values
// (memo.ts), so detection keeps answering through an outage.
import { ApiError } from './errors.ts'
import type { Store } from './store.ts'

export class DatabaseUnavailableError extends ApiError {
  constructor(readonly reason: string) {
    super(503, 'database_unavailable', 'the database is unavailable; retry shortly', { 'retry-after': '5' })
  }
}

// SQLSTATE classes that mean "cannot serve now": connection exceptions, insufficient resources,
// operator intervention (shutdown, starting up), invalid authorization, unknown database.
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '28', '3D'])

/**
 * True for failures to reach or use the database at all: a connection refused or cut (the Neon driver
 * rejects with an Error without a SQLSTATE, or a WebSocket ErrorEvent), or a server that cannot serve.
 * Errors with any other SQLSTATE (a constraint, bad data) are about the query, not availability.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true
  if (err instanceof ApiError || err instanceof TypeError || err instanceof RangeError) return false
  if (err instanceof Error && err.name === 'StoreError') return false
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_CLASSES.has(code.slice(0, 2))
  return true
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`
  const message = (err as { message?: unknown } | null)?.message
  return typeof message === 'string' ? message : String(err)
}

/** The store, with unavailability turned into DatabaseUnavailableError (logged once per request). */
export function withAvailability<T extends object = Store>(store: T): T {
  let logged = false
  const guarded = {} as Record<string, unknown>
  for (const name of Object.keys(store) as (keyof T & string)[]) {
    const method = store[name] as (...args: unknown[]) => Promise<unknown>
    guarded[name] =
      name === 'close'
        ? method
        : async (...args: unknown[]) => {
            try {
              return await method(...args)
            } catch (err) {
              if (!isDatabaseUnavailable(err)) throw err
              const reason = describe(err)
              if (!logged) {
                logged = true
                console.error(
                  JSON.stringify({ level: 'error', msg: 'database unavailable', op: name, error: reason }),
                )
              }
              throw new DatabaseUnavailableError(reason)
            }
          }
  }
  return guarded as unknown as T
}
