// Dev-only Upstash REST → Redis bridge: lets @upstash/redis and @upstash/ratelimit talk to a real local
// Redis. Implements the subset of the REST protocol the SDK uses; see ../shared/specs/local-stack.md §5.
import { createHash, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { createClient, RESP_TYPES } from 'redis'

export interface UpstashBridgeOptions {
  /** e.g. `redis://127.0.0.1:6379` */
  redisUrl: string
  /** The bearer token clients must send (UPSTASH_REDIS_REST_TOKEN). */
  token: string
  /** Port on 127.0.0.1; 0 or omitted picks a free one. */
  port?: number
  /** Largest accepted request body (default 10 MiB). */
  maxBodyBytes?: number
}

export interface UpstashBridge {
  /** `http://127.0.0.1:PORT`, the value for UPSTASH_REDIS_REST_URL. */
  url: string
  port: number
  close(): Promise<void>
}

type Reply = null | number | bigint | boolean | string | Buffer | Error | Reply[] | { [k: string]: Reply }
type Entry = { result: unknown } | { error: string }

// Buffers keep binary values byte-exact (base64 of the raw bytes, not of a lossy UTF-8 decode).
const TYPE_MAPPING = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } as const
const LOCKING_FLAG = 'allow-key-locking'

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex')

/** Drops Upstash's `allow-key-locking` flag from a `#!lua` shebang; returns null when there is none. */
export function stripUpstashShebangFlag(script: string): string | null {
  const m = /^#!lua([^\n]*)/.exec(script)
  if (!m?.[1].includes(LOCKING_FLAG)) return null
  const rest = m[1].replace(/flags=([^\s]*)/, (_all, flags: string) => {
    const kept = flags.split(',').filter((f) => f && f !== LOCKING_FLAG)
    return kept.length > 0 ? `flags=${kept.join(',')}` : ''
  })
  return `#!lua${rest.trimEnd()}${script.slice(m[0].length)}`
}

/** Encodes a raw reply for the JSON response: strings (at every depth) as base64 of their bytes if asked. */
function encode(reply: Reply, base64: boolean): unknown {
  if (reply === null || reply === undefined) return null
  if (typeof reply === 'number' || typeof reply === 'boolean') return reply
  if (typeof reply === 'bigint') return Number(reply)
  if (Buffer.isBuffer(reply) || typeof reply === 'string') {
    const buf = Buffer.isBuffer(reply) ? reply : Buffer.from(reply)
    const text = buf.toString('utf8')
    // "OK" stays literal, like Upstash: the SDK special-cases it.
    return base64 && text !== 'OK' ? buf.toString('base64') : text
  }
  if (reply instanceof Error) return base64 ? Buffer.from(reply.message).toString('base64') : reply.message
  if (Array.isArray(reply)) return reply.map((r) => encode(r, base64))
  // RESP2 has no maps, but keep objects flat like Upstash if a reply ever is one.
  return Object.entries(reply).flatMap(([k, v]) => [encode(k, base64), encode(v, base64)])
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

class BadRequest extends Error {}

function parseCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new BadRequest('ERR command must be a non-empty array')
  // The SDK sends numbers, and objects as JSON; `null` arrives as the string "null". Redis wants strings.
  return value.map((a) => (typeof a === 'string' ? a : typeof a === 'object' ? JSON.stringify(a) : String(a)))
}

export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024
  const redis = createClient({ url: options.redisUrl, RESP: 2 })
  redis.on('error', (err: Error) => console.error(`[upstash-bridge] redis: ${err.message}`))
  await redis.connect()
  const expected = Buffer.from(`Bearer ${options.token}`)
  // sha1(original script) → sha1(script as sent to Redis), so the SDK's hard-coded EVALSHAs hit.
  const shaMap = new Map<string, string>()

  /** Rewrites script commands so stock Redis accepts Upstash's scripts; returns the SHA to report back. */
  function rewrite(cmd: string[]): { cmd: string[]; loadedSha?: string } {
    const name = cmd[0].toLowerCase()
    const scriptAt =
      name === 'eval' || name === 'eval_ro'
        ? 1
        : name === 'script' && cmd[1]?.toLowerCase() === 'load'
          ? 2
          : -1
    if (scriptAt > 0 && cmd[scriptAt] !== undefined) {
      const original = cmd[scriptAt]
      const stripped = stripUpstashShebangFlag(original)
      if (stripped === null) return { cmd }
      shaMap.set(sha1(original), sha1(stripped))
      const out = cmd.slice()
      out[scriptAt] = stripped
      return { cmd: out, loadedSha: scriptAt === 2 ? sha1(original) : undefined }
    }
    if ((name === 'evalsha' || name === 'evalsha_ro') && cmd[1] !== undefined) {
      const mapped = shaMap.get(cmd[1].toLowerCase())
      if (mapped) return { cmd: [cmd[0], mapped, ...cmd.slice(2)] }
    }
    return { cmd }
  }

  async function run(command: string[], base64: boolean): Promise<Entry> {
    const { cmd, loadedSha } = rewrite(command)
    try {
      const reply = (await redis.sendCommand(cmd, { typeMapping: TYPE_MAPPING })) as Reply
      return { result: loadedSha ? encode(loadedSha, base64) : encode(reply, base64) }
    } catch (err) {
      return { error: errorText(err) } // NOSCRIPT and every other Redis error text pass through unchanged
    }
  }

  async function multiExec(
    commands: string[][],
    base64: boolean,
  ): Promise<{ status: number; body: unknown }> {
    const rewritten = commands.map(rewrite)
    const multi = redis.withTypeMapping(TYPE_MAPPING).multi()
    for (const r of rewritten) multi.addCommand(r.cmd)
    try {
      const replies = (await multi.exec()) as unknown as Reply[]
      return {
        status: 200,
        body: replies.map((reply, i) => {
          const sha = rewritten[i].loadedSha
          return reply instanceof Error ? { error: reply.message } : { result: encode(sha ?? reply, base64) }
        }),
      }
    } catch (err) {
      const e = err as Error & { replies?: Reply[]; errorIndexes?: number[] }
      // Exec-time errors: node-redis throws with every reply attached; report them per command.
      if (Array.isArray(e.replies) && Array.isArray(e.errorIndexes)) {
        const failed = new Set(e.errorIndexes)
        return {
          status: 200,
          body: e.replies.map((reply, i) =>
            failed.has(i) || reply instanceof Error
              ? { error: errorText(reply) }
              : { result: encode(rewritten[i].loadedSha ?? reply, base64) },
          ),
        }
      }
      return { status: 400, body: { error: errorText(err) } } // queue-time error (EXECABORT, unknown command)
    }
  }

  async function handle(req: http.IncomingMessage, body: Buffer): Promise<{ status: number; body: unknown }> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const auth = Buffer.from(
      req.headers.authorization ??
        (url.searchParams.has('_token') ? `Bearer ${url.searchParams.get('_token')}` : ''),
    )
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      return { status: 401, body: { error: 'Unauthorized' } }
    }
    if (req.method !== 'POST') return { status: 405, body: { error: 'ERR only POST is supported' } }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
    let parsed: unknown
    try {
      parsed = JSON.parse(body.toString('utf8'))
    } catch {
      return { status: 400, body: { error: 'ERR failed to parse JSON body' } }
    }
    const path = url.pathname.replace(/\/+$/, '')
    try {
      if (path === '') {
        const entry = await run(parseCommand(parsed), base64)
        return { status: 'error' in entry ? 400 : 200, body: entry }
      }
      if (path === '/pipeline' || path === '/multi-exec') {
        if (!Array.isArray(parsed) || parsed.length === 0) {
          throw new BadRequest('ERR body must be a non-empty array of commands')
        }
        const commands = parsed.map(parseCommand)
        if (path === '/multi-exec') return await multiExec(commands, base64)
        // Not atomic: node-redis pipelines these on one connection, in order.
        return { status: 200, body: await Promise.all(commands.map((c) => run(c, base64))) }
      }
    } catch (err) {
      if (err instanceof BadRequest) return { status: 400, body: { error: err.message } }
      throw err
    }
    return { status: 404, body: { error: `ERR unknown endpoint ${url.pathname}` } }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    const reply = (status: number, body: unknown) => {
      if (res.headersSent) return
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > maxBody) {
        reply(413, { error: 'ERR request body too large' })
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => {
      if (size > maxBody) return
      handle(req, Buffer.concat(chunks)).then(
        (r) => reply(r.status, r.body),
        (err) => reply(500, { error: `ERR bridge: ${errorText(err)}` }),
      )
    })
  })
  server.keepAliveTimeout = 30_000 // the SDK uses keep-alive
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', resolve)
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await redis.quit().catch(() => redis.destroy())
    },
  }
}

// CLI: `tsx scripts/upstash-bridge.ts` with REDIS_URL, UPSTASH_REDIS_REST_TOKEN, UPSTASH_BRIDGE_PORT (8079).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const token = process.env.UPSTASH_REDIS_REST_TOKEN ?? 'dev-token'
  const bridge = await startUpstashBridge({
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    token,
    port: Number(process.env.UPSTASH_BRIDGE_PORT ?? 8079),
  })
  console.log(JSON.stringify({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: token }))
  const stop = () => void bridge.close().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
