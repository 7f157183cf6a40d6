// Neon driver settings for the local WebSocket→TCP proxy (scripts/neon-ws-proxy.ts). Platform-neutral:
// Node passes `ws` as the WebSocket constructor, workerd has a global WebSocket and passes nothing.
import { neonConfig } from '@neondatabase/serverless'
import type { NeonConfig } from '@neondatabase/serverless'

export interface LocalNeonOptions {
  /** The proxy as `host:port/v2` (what startNeonProxy returns as `url`), or `host:port`. */
  proxy: string
  /** Required in Node 20 (no global WebSocket); omit in workerd. */
  webSocketConstructor?: unknown
  /** `false` saves ~1 ms per round trip in Node tools; the driver default (true) is fine in workerd. */
  coalesceWrites?: boolean
}

/**
 * Points the (global) neonConfig at a local proxy. Each setting is required, see local-stack.md §2:
 * ws:// not wss://, and no pipelined startup (it breaks trust and SCRAM auth against plain Postgres).
 */
export function configureNeonForLocalProxy(options: LocalNeonOptions): void {
  const base = options.proxy.replace(/^wss?:\/\//, '').replace(/\/+$/, '')
  const path = base.includes('/') ? base : `${base}/v2`
  neonConfig.wsProxy = (host: string, port: number | string) => `${path}?address=${host}:${port}`
  neonConfig.useSecureWebSocket = false
  neonConfig.pipelineConnect = false
  if (options.webSocketConstructor !== undefined) {
    neonConfig.webSocketConstructor = options.webSocketConstructor as NeonConfig['webSocketConstructor']
  }
  if (options.coalesceWrites !== undefined) neonConfig.coalesceWrites = options.coalesceWrites
}

/** True for connection strings that name this machine, i.e. ones that need the local proxy. */
export function isLoopbackDatabaseUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
    return host === 'localhost' || host === '::1' || host.startsWith('127.')
  } catch {
    return false
  }
}
