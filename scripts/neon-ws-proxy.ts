// Dev-only WebSocket→TCP proxy in the role of Neon's wsproxy: lets @neondatabase/serverless's Pool/Client
// reach a plain local PostgreSQL. One WebSocket per Postgres connection; every frame carries raw wire bytes.
// See ../shared/specs/local-stack.md §2 for the protocol details this implements.
import { isIP } from 'node:net'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { WebSocketServer } from 'ws'
import type { RawData, WebSocket } from 'ws'

export interface NeonProxyOptions {
  /** Port to listen on (127.0.0.1 only); 0 or omitted picks a free one. */
  port?: number
  /** Log connection failures and rejections (default true; tests pass a no-op). */
  log?: (message: string) => void
}

export interface NeonProxy {
  /** `host:port/v2`, the value for `neonConfig.wsProxy` (the driver appends `?address=host:port`). */
  url: string
  port: number
  /** Number of open client connections (for tests and leak checks). */
  connections(): number
  close(): Promise<void>
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1'])
// Pause the TCP side when the client is this far behind, so a big result set cannot balloon memory.
const HIGH_WATER = 1 << 20

/** Parses `host:port` (IPv6 as `[::1]:5432`); returns null unless it names a loopback target. */
export function parseLoopbackTarget(address: string | null): { host: string; port: number } | null {
  if (!address) return null
  const colon = address.lastIndexOf(':')
  if (colon <= 0) return null
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
  const port = Number(address.slice(colon + 1))
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null
  const loopback = LOOPBACK_NAMES.has(host) || (isIP(host) === 4 && host.startsWith('127.'))
  return loopback ? { host, port } : null
}

/**
 * Tracks message boundaries of the client→server Postgres stream, so Terminate ('X' 00 00 00 04) is
 * recognised as a message and not as five bytes that happen to end some other message's payload.
 */
export class FrontendMessageTracker {
  private startup = true // the first messages carry no type byte
  private header = Buffer.alloc(0) // partial header carried across chunks
  private skip = 0 // body bytes of the current message still to come

  /** Feeds one chunk; returns true if it contained a complete Terminate message. */
  push(chunk: Buffer): boolean {
    let terminated = false
    let i = 0
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i)
        this.skip -= n
        i += n
        continue
      }
      const need = this.startup ? 8 : 5
      const take = Math.min(need - this.header.length, chunk.length - i)
      this.header = Buffer.concat([this.header, chunk.subarray(i, i + take)])
      i += take
      if (this.header.length < need) break
      if (this.startup) {
        const length = this.header.readInt32BE(0)
        const code = this.header.readInt32BE(4)
        // SSLRequest / GSSENCRequest are answered with one byte and followed by the real startup message.
        if (code !== 80877103 && code !== 80877104) this.startup = false
        this.skip = Math.max(0, length - 8)
      } else {
        const type = this.header[0]
        const length = this.header.readInt32BE(1)
        if (type === 0x58 && length === 4) terminated = true
        this.skip = Math.max(0, length - 4)
      }
      this.header = Buffer.alloc(0)
    }
    return terminated
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

/** Starts the proxy on 127.0.0.1. Only loopback Postgres targets are allowed: it must never be an open relay. */
export async function startNeonProxy(options: NeonProxyOptions = {}): Promise<NeonProxy> {
  const log = options.log ?? ((m: string) => console.error(`[neon-ws-proxy] ${m}`))
  const wss = new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0, perMessageDeflate: false })
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  const open = new Set<WebSocket>()

  wss.on('connection', (ws, req) => {
    const address = new URL(req.url ?? '/', 'http://localhost').searchParams.get('address')
    const target = parseLoopbackTarget(address)
    if (!target) {
      log(`rejected target ${JSON.stringify(address)}: only loopback host:port is allowed`)
      ws.close(1008, 'target not allowed')
      return
    }
    open.add(ws)
    // Accept first, connect after: writes made before connect are buffered by the socket.
    const socket = net.connect(target.port, target.host)
    socket.setNoDelay(true)
    const tracker = new FrontendMessageTracker()

    ws.on('message', (data) => {
      const chunk = toBuffer(data)
      if (socket.destroyed || socket.writableEnded) return
      if (!socket.write(chunk)) ws.pause()
      // The Neon client never closes its WebSocket: pool.end() only sends Terminate and waits for a hang-up.
      if (tracker.push(chunk)) socket.end()
    })
    socket.on('drain', () => ws.resume())
    socket.on('data', (chunk) => {
      if (ws.readyState !== ws.OPEN) return
      ws.send(chunk, { binary: true }, () => {
        if (socket.isPaused() && ws.bufferedAmount < HIGH_WATER) socket.resume()
      })
      if (ws.bufferedAmount >= HIGH_WATER) socket.pause()
    })
    socket.on('error', (err) => {
      // The client only sees "Connection terminated unexpectedly", so the cause is logged here.
      log(`tcp ${target.host}:${target.port}: ${err.message}`)
    })
    socket.on('close', () => {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close()
    })
    ws.on('close', () => {
      open.delete(ws)
      socket.destroy()
    })
    ws.on('error', (err) => {
      log(`websocket: ${err.message}`)
      socket.destroy()
    })
  })

  const port = (wss.address() as AddressInfo).port
  return {
    url: `127.0.0.1:${port}/v2`,
    port,
    connections: () => open.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of open) ws.terminate()
        wss.close(() => resolve())
      }),
  }
}

// CLI: `tsx scripts/neon-ws-proxy.ts [--port 18080]` (or NEON_PROXY_PORT).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const flag = process.argv.indexOf('--port')
  const port = Number(flag > 0 ? process.argv[flag + 1] : (process.env.NEON_PROXY_PORT ?? 18080))
  const proxy = await startNeonProxy({ port })
  console.log(JSON.stringify({ wsProxy: proxy.url, port: proxy.port }))
  const stop = () => void proxy.close().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
