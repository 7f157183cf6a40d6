// The experiment consumer killed for real mid-batch: the deployable Worker bundle in workerd (Miniflare,
// its queue consumer configured as wrangler.toml declares it) runs an experiment against a real origin
// (brown-lm on CPU over HTTP) and the real PostgreSQL; once some jobs are done and others are running,
// the workerd process is killed with SIGKILL (no cleanup, writes cut wherever they were). A fresh
// workerd on the same database then resumes the experiment (the local queue died with the process;
// Cloudflare Queues would redeliver the unacknowledged messages themselves), and it completes with
// exactly the expected rows: every sample's three variants once, none twice, none missing.
import { execFileSync } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestOrigin,
  type LoadedModel,
  loadTestModel,
  TEST_MASTER_SECRET,
  TEST_SIGNING_SECRET,
} from '../../origin/test-support.ts'
import { migrate } from '../../scripts/migrate.ts'
import { type NeonProxy, startNeonProxy } from '../../scripts/neon-ws-proxy.ts'
import { createTestDatabase } from '../integration/services.ts'
import { buildWorkerBundle, runBundle, type WorkerBundle } from '../worker-bundle.ts'

const ADMIN = 'experiment-kill-admin-token'
const SAMPLES = 16

let db: Awaited<ReturnType<typeof createTestDatabase>>
let proxy: NeonProxy
let bundle: WorkerBundle
let loaded: LoadedModel
let origin: ServerType
let originUrl: string
let check: pg.Pool

beforeAll(async () => {
  db = await createTestDatabase()
  check = new pg.Pool({ connectionString: db.url, max: 1 })
  check.on('error', () => {})
  await migrate(check as never)
  proxy = await startNeonProxy({ log: () => {} })
  bundle = buildWorkerBundle('wmlab-kill-')
  loaded = await loadTestModel()
  const app = createTestOrigin(loaded).app
  const port = await new Promise<number>((resolve) => {
    origin = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve(info.port),
    )
  })
  originUrl = `http://127.0.0.1:${port}`
}, 120_000)

afterAll(async () => {
  await new Promise((r) => origin?.close(r))
  await loaded?.engine.release()
  await check?.end()
  await proxy?.close()
  await db?.drop()
  bundle?.remove()
})

/** The Worker in its own workerd process, with the experiments queue and its consumer. */
async function startEdge() {
  const before = new Set(workerdPids())
  const { mf, url } = await runBundle(
    bundle,
    {
      WATERMARK_MASTER_SECRET: TEST_MASTER_SECRET,
      ADMIN_TOKEN: ADMIN,
      DATABASE_URL: db.url,
      NEON_WS_PROXY: proxy.url,
      ORIGIN_URL: originUrl,
      ORIGIN_SIGNING_SECRET: TEST_SIGNING_SECRET,
    },
    {
      // As worker/wrangler.toml declares them.
      queueProducers: { EXPERIMENT_QUEUE: { queueName: 'wmlab-experiments' } },
      queueConsumers: {
        'wmlab-experiments': {
          maxBatchSize: 4,
          maxBatchTimeout: 1,
          maxRetries: 3,
          retryDelay: 1,
          deadLetterQueue: 'wmlab-experiments-dlq',
        },
      },
    },
  )
  const pids = workerdPids().filter((p) => !before.has(p))
  expect(pids, 'the workerd process this Miniflare started').toHaveLength(1)
  return { mf, url, pid: pids[0]! }
}

/** workerd processes that are children of this process (Miniflare spawns one per instance). */
function workerdPids(): number[] {
  const out = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'pid=,comm='], { encoding: 'utf8' })
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm === 'workerd')
    .map(([pid]) => Number(pid))
}

async function api(url: string, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return JSON.parse(text)
}

async function jobs(id: string) {
  const { rows } = await check.query(
    `SELECT count(*) FILTER (WHERE outcome = 'done')::int AS done,
            (SELECT count(*)::int FROM experiment_samples WHERE experiment_id = $1) AS samples
     FROM experiment_jobs WHERE experiment_id = $1`,
    [id],
  )
  return rows[0] as { done: number; samples: number }
}

describe('experiment consumer killed mid-batch (SIGKILL of workerd)', () => {
  it('a fresh workerd resumes it to exactly the expected rows: none twice, none missing', async () => {
    const first = await startEdge()
    const boot = await api(first.url, ADMIN, 'POST', '/admin/tenants', { name: 'killed' })
    const key = boot.apiKey as string
    await api(first.url, key, 'POST', '/v1/keys', { scheme: 'kgw-lefthash', tokenizer: 'qwen3' })
    const created = await api(first.url, key, 'POST', '/v1/experiments', {
      name: 'killed mid-batch',
      grid: { schemes: [{ scheme: 'kgw-lefthash' }] },
      samples: SAMPLES,
      maxNewTokens: 16,
      seed: 11,
    })
    // Kill once some jobs are done and others are running.
    const deadline = Date.now() + 120_000
    let seen = await jobs(created.id)
    // Preferably while rows of an unfinished job are half written; at the latest halfway through.
    while (!(seen.done >= 2 && (seen.samples > seen.done * 3 || seen.done >= SAMPLES / 2))) {
      expect(seen.done, 'the experiment finished before it could be killed').toBeLessThan(SAMPLES)
      expect(Date.now(), 'no job finished within 2 minutes').toBeLessThan(deadline)
      await new Promise((r) => setTimeout(r, 10))
      seen = await jobs(created.id)
    }
    process.kill(first.pid, 'SIGKILL')
    await first.mf.dispose().catch(() => undefined) // its runtime is gone: disposing may complain
    expect(() => process.kill(first.pid, 0), 'the killed workerd is gone').toThrow()
    const atKill = await jobs(created.id)
    expect(atKill.done).toBeLessThan(SAMPLES)
    console.log(
      `killed workerd ${first.pid} with ${atKill.done}/${SAMPLES} jobs done and ${atKill.samples} rows written`,
    )
    // Nothing moves while no consumer runs.
    await new Promise((r) => setTimeout(r, 1500))
    expect(await jobs(created.id)).toEqual(atKill)

    const second = await startEdge()
    try {
      const view = await api(second.url, key, 'GET', `/v1/experiments/${created.id}`)
      expect(view.status).toBe('running')
      const resumed = await api(second.url, key, 'POST', `/v1/experiments/${created.id}/resume`)
      expect(resumed.requeued).toBe(SAMPLES - atKill.done)
      let e = view
      const until = Date.now() + 180_000
      while (!['completed', 'completed_with_failures', 'failed', 'cancelled'].includes(e.status)) {
        expect(Date.now(), `not finished: ${JSON.stringify(e.progress)}`).toBeLessThan(until)
        await new Promise((r) => setTimeout(r, 250))
        e = await api(second.url, key, 'GET', `/v1/experiments/${created.id}`)
      }
      expect(e.status).toBe('completed')
      expect(e.progress).toMatchObject({ done: SAMPLES, failed: 0, total: SAMPLES })
      // Exactly the expected rows: each sample's watermarked, unwatermarked and human text once.
      const { rows } = await check.query(
        `SELECT sample, variant, count(*)::int AS n FROM experiment_samples WHERE experiment_id = $1
         GROUP BY sample, variant ORDER BY sample, variant`,
        [created.id],
      )
      expect(rows).toHaveLength(SAMPLES * 3)
      expect(rows.every((r) => r.n === 1)).toBe(true)
      expect(new Set(rows.map((r) => r.sample)).size).toBe(SAMPLES)
      const exported = (
        await (
          await fetch(`${second.url}/v1/experiments/${created.id}/export?format=jsonl`, {
            headers: { authorization: `Bearer ${key}` },
          })
        ).text()
      )
        .trim()
        .split('\n')
      expect(exported).toHaveLength(SAMPLES * 3)
    } finally {
      await second.mf.dispose()
    }
  }, 400_000)
})
