// The deployable Worker bundle (what `wrangler deploy` uploads, built with --dry-run) and the Miniflare
// options that run it in workerd as wrangler.toml declares it: Data modules for the compiled
// tokenizers, the WASM kernel, the compatibility date and flags. Used by tests and benchmarks that need
// the Worker exactly as deployed, without wrangler dev's proxy in the request path.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Miniflare, type WorkerOptions } from 'miniflare'
import pg from 'pg'
import { migrate } from '../scripts/migrate.ts'
import { startNeonProxy } from '../scripts/neon-ws-proxy.ts'
import { createTestDatabase } from './integration/services.ts'

export interface WorkerBundle {
  dir: string
  /** Options for one Worker running this bundle (spread into Miniflare's options or `workers`). */
  worker(bindings: Record<string, string>, extra?: Partial<WorkerOptions>): WorkerOptions
  remove(): void
}

/** Builds the bundle into a fresh temporary folder (a few seconds). */
export function buildWorkerBundle(prefix = 'wmlab-bundle-'): WorkerBundle {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  execFileSync(
    'node_modules/.bin/wrangler',
    ['deploy', '--dry-run', '--outdir', dir, '-c', 'worker/wrangler.toml'],
    { stdio: 'ignore' },
  )
  return {
    dir,
    worker: (bindings, extra = {}) =>
      ({
        modules: true,
        modulesRoot: dir,
        scriptPath: join(dir, 'index.js'),
        modulesRules: [
          { type: 'Data', include: ['**/*.bin'] },
          { type: 'CompiledWasm', include: ['**/*.wasm'] },
        ],
        compatibilityDate: '2026-05-01', // as worker/wrangler.toml
        compatibilityFlags: ['nodejs_als'],
        bindings,
        ...extra,
      }) as WorkerOptions,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/**
 * The bundle in its own workerd (Miniflare) on a random port of 127.0.0.1, with its MetricsHub Durable
 * Object and `extra` options (queues, …); workerd's output is drained, not printed.
 */
export async function runBundle(
  bundle: WorkerBundle,
  bindings: Record<string, string>,
  extra: Partial<WorkerOptions> = {},
): Promise<{ mf: Miniflare; url: string }> {
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    handleRuntimeStdio: (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
      stdout.resume()
      stderr.resume()
    },
    ...bundle.worker(bindings, {
      durableObjects: { METRICS_HUB: { className: 'MetricsHub', useSQLite: true } },
      ...extra,
    }),
  })
  return { mf, url: String(await mf.ready).replace(/\/$/, '') }
}

export interface BundledEdge {
  url: string
  apiKey: string
  databaseUrl: string
  stop(): Promise<void>
}

/**
 * The deployable bundle in workerd (Miniflare) on a random port of 127.0.0.1, as production runs it:
 * its MetricsHub Durable Object, a fresh database on the local PostgreSQL (migrated) through the Neon
 * WebSocket proxy, in-memory result cache; with a tenant and a key (vllm-gumbel, qwen3, as the lab's).
 * No wrangler dev proxy in the request path. `env` adds bindings.
 */
export async function startBundledEdge(env: Record<string, string> = {}): Promise<BundledEdge> {
  const db = await createTestDatabase()
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  await migrate(pool as never)
  await pool.end()
  const proxy = await startNeonProxy({ log: () => {} })
  const bundle = buildWorkerBundle()
  const admin = 'load-bench-admin-token'
  const { mf, url } = await runBundle(bundle, {
    WATERMARK_MASTER_SECRET: 'load-bench-master-secret-0123456789',
    ADMIN_TOKEN: admin,
    DATABASE_URL: db.url,
    NEON_WS_PROXY: proxy.url,
    ...env,
  })
  const post = async (path: string, body: unknown, bearer: string) => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify(body),
    })
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    return res.json() as Promise<Record<string, string>>
  }
  const { apiKey } = await post('/admin/tenants', { name: 'load' }, admin)
  await post('/v1/keys', { scheme: 'vllm-gumbel', tokenizer: 'qwen3' }, apiKey!)
  return {
    url,
    apiKey: apiKey!,
    databaseUrl: db.url,
    async stop() {
      await mf.dispose()
      await proxy.close()
      await db.drop()
      bundle.remove()
    },
  }
}
