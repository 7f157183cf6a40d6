// Calls to the edge API: the API key (localStorage or `#key=`), the error envelope, SSE streams and
// authenticated downloads.
import { SseDecoder, type SseMessage } from '../src/sse.ts'

const STORAGE_KEY = 'wmlab.apiKey'

export const apiKey = () => localStorage.getItem(STORAGE_KEY) ?? ''

export function setApiKey(key: string) {
  if (key) localStorage.setItem(STORAGE_KEY, key)
  else localStorage.removeItem(STORAGE_KEY)
}

/** Adopts `#key=<apiKey>` from the address, then drops it from the address bar and history. */
export function adoptKeyFromFragment(): boolean {
  const m = /^#key=([^&]+)/.exec(location.hash)
  if (!m) return false
  setApiKey(decodeURIComponent(m[1]))
  history.replaceState(null, '', `${location.pathname}${location.search}#/detect`)
  return true
}

/** A non-2xx answer: `message` is the envelope's `{"error":{"code","message"}}` message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

async function failure(r: Response): Promise<ApiError> {
  const body = (await r.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null
  return new ApiError(
    r.status,
    body?.error?.code ?? 'http_error',
    body?.error?.message ?? `${r.status} ${r.statusText}`,
  )
}

/** One authenticated request; throws ApiError unless the status is 2xx. */
export async function call(method: string, path: string, body?: unknown, signal?: AbortSignal) {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey()}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const r = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  })
  if (!r.ok) throw await failure(r)
  return r
}

export const getJson = async <T>(path: string) => (await (await call('GET', path)).json()) as T
export const postJson = async <T>(path: string, body?: unknown) =>
  (await (await call('POST', path, body)).json()) as T

/** The events of an SSE response as they arrive (EventSource cannot send the Authorization header). */
export async function* events(r: Response): AsyncGenerator<SseMessage> {
  const decoder = new SseDecoder()
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      yield* decoder.push(value)
    }
    yield* decoder.end()
  } finally {
    // Stops the download when the consumer leaves early (Stop button, route change).
    await reader.cancel().catch(() => undefined)
  }
}

/** Downloads an authenticated resource as a file (a plain link could not send the header). */
export async function download(path: string, filename: string) {
  const blob = await (await call('GET', path)).blob()
  const url = URL.createObjectURL(blob)
  const a = Object.assign(document.createElement('a'), { href: url, download: filename })
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

let catalogue: Promise<{ schemes: string[]; attacks: string[] }> | undefined

/**
 * Scheme and attack names, read from the API's own OpenAPI document so that the registry in
 * core stays the one list (an attack list absent from the document leaves the names free text).
 */
export function names() {
  catalogue ??= fetch('/openapi.json')
    .then((r) => r.json())
    .then((doc) => ({ schemes: findEnum(doc, 'kgw-lefthash'), attacks: findEnum(doc, 'word-deletion') }))
    .catch(() => ({ schemes: [], attacks: [] }))
  return catalogue
}

function findEnum(node: unknown, member: string): string[] {
  if (!node || typeof node !== 'object') return []
  const e = (node as { enum?: unknown }).enum
  if (Array.isArray(e) && e.includes(member)) return e as string[]
  for (const child of Object.values(node)) {
    const found = findEnum(child, member)
    if (found.length) return found
  }
  return []
}
