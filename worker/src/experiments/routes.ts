// /v1/experiments: create (validate, store, fan out on the queue), list, show (progress, failures,
// metrics), cancel, export. Thin: the work happens in the queue consumer (consumer.ts, job.ts).
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { promptCount } from '../../../core/experiments/prompts.ts'
import {
  ExperimentSpecSchema,
  gridCellCount,
  gridCells,
  MAX_CELLS,
  MAX_JOBS,
  prefixLengths,
  resolvePrompts,
} from '../../../core/experiments/spec.ts'
import type { SampleRow } from '../../../core/experiments/types.ts'
import { createScheme } from '../../../core/schemes/registry.ts'
import type { ExperimentRecord, ExperimentStore, JobFailure } from '../../adapters/experiments-db.ts'
import { ApiError } from '../errors.ts'
import { newId } from '../keys.ts'
import type { AppEnv } from '../app.ts'
import { ErrorSchema } from '../schemas.ts'
import type { ExperimentMessage } from './consumer.ts'
import { modelIds } from './models.ts'
import { experimentProgress } from './progress.ts'

/** The producer side of the experiments queue (Cloudflare Queue binding shape). */
export interface ExperimentQueue {
  sendBatch(messages: Iterable<{ body: ExperimentMessage }>): Promise<unknown>
}

export interface ExperimentDeps {
  /** A store for one request (its own Postgres pool, closed after the handler); null: no database. */
  open(): ExperimentStore | null
  queue: ExperimentQueue | null
  /** spec.faults is honoured only here (ALLOW_FAULT_INJECTION, the local lab). */
  allowFaultInjection: boolean
}

/** Parameters the service sets itself (key material, vocabulary); as in POST /v1/keys. */
const RESERVED_PARAMS = ['key', 'keys', 'hashKey', 'vocabSize']

const json = (schema: z.ZodType, description: string) => ({
  content: { 'application/json': { schema } },
  description,
})
const errors = {
  400: json(ErrorSchema, 'Invalid spec'),
  401: json(ErrorSchema, 'Missing or invalid API key'),
  404: json(ErrorSchema, 'Not found'),
  503: json(ErrorSchema, 'Experiments need a database and the queue'),
}
const ExperimentSchema = z.object({}).passthrough().openapi('Experiment')
const IdParam = z.object({ id: z.string().min(1).max(64) })

function view(e: ExperimentRecord, failures: JobFailure[] = []) {
  const spec = ExperimentSpecSchema.parse(e.spec)
  const cells = gridCells(spec)
  return {
    id: e.id,
    name: e.name,
    status: e.status,
    spec,
    createdAt: e.createdAt,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    error: e.error,
    progress: experimentProgress(e),
    cells,
    failures: failures.map((f) => ({ ...f, ...jobCoordinates(f.job, cells.length) })),
    metrics: e.metrics,
  }
}

const jobCoordinates = (job: number, cells: number) => ({
  sample: Math.floor(job / cells),
  cell: job % cells,
})

/** Checks what the schema cannot: model, size, scheme parameters, attack inputs, fault injection. */
function validate(spec: z.infer<typeof ExperimentSpecSchema>, allowFaults: boolean) {
  const bad = (message: string) => new ApiError(400, 'invalid_request', message)
  if (!modelIds.includes(spec.model))
    throw bad(`model: unknown model "${spec.model}" (known: ${modelIds.join(', ')})`)
  const cellCount = gridCellCount(spec)
  if (cellCount > MAX_CELLS)
    throw bad(`grid: ${cellCount} cells (schemes × parameter values × keys); at most ${MAX_CELLS}`)
  const reserved = spec.grid.schemes
    .flatMap((e) => Object.keys(e.params))
    .find((k) => RESERVED_PARAMS.includes(k))
  if (reserved) throw bad(`grid: params.${reserved} is set by the service, not by clients`)
  const cells = gridCells(spec)
  const jobs = cells.length * spec.samples
  if (jobs > MAX_JOBS) throw bad(`grid cells × samples = ${jobs} jobs; at most ${MAX_JOBS}`)
  for (const c of cells) {
    try {
      createScheme(c.scheme, { ...c.params, key: 1n, vocabSize: 151_936 })
    } catch (e) {
      throw bad(`grid: ${c.keyLabel}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  if (spec.faults && !allowFaults)
    throw new ApiError(400, 'fault_injection_disabled', 'faults: fault injection is off on this deployment')
  if (
    spec.prompts.source === 'inline' &&
    spec.attacks.some((a) => a.name === 'copy-paste') &&
    spec.prompts.items.some((i) => !i.human)
  )
    throw bad('attacks: copy-paste needs a human text for every prompt (prompts.items[].human)')
  return { cells, jobs }
}

const CSV_COLUMNS = [
  'sample',
  'cell',
  'scheme',
  'key_label',
  'attack',
  'variant',
  'tokens',
  'scored',
  'log_p_value',
  'p_value',
  'statistic',
  'perplexity',
  'edit_fraction',
]
const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

export function registerExperimentRoutes(app: OpenAPIHono<AppEnv>, deps: ExperimentDeps) {
  /** Runs a handler with a store, closed after the response (waitUntil) whatever happens. */
  const withStore = async <R>(c: Context<AppEnv>, fn: (store: ExperimentStore) => Promise<R>): Promise<R> => {
    const store = deps.open()
    if (!store || !deps.queue)
      throw new ApiError(
        503,
        'experiments_unavailable',
        'experiments need DATABASE_URL and the EXPERIMENT_QUEUE binding',
      )
    try {
      return await fn(store)
    } finally {
      c.get('waitUntil')(store.close())
    }
  }
  /** Sends job messages (ids only) in batches of 100, Queues' sendBatch limit. */
  const enqueue = async (experimentId: string, jobs: number[]) => {
    for (let start = 0; start < jobs.length; start += 100)
      await deps.queue!.sendBatch(
        jobs.slice(start, start + 100).map((job) => ({ body: { experimentId, job } })),
      )
  }
  const found = (e: ExperimentRecord | null, id: string) => {
    if (!e) throw new ApiError(404, 'experiment_not_found', `no experiment "${id}" for this tenant`)
    return e
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/experiments',
      summary: 'Create an experiment and fan its jobs out on the queue',
      request: {
        body: { content: { 'application/json': { schema: ExperimentSpecSchema } }, required: true },
      },
      responses: { 201: json(ExperimentSchema, 'The new experiment'), ...errors },
    }),
    async (c) => {
      const spec = resolvePrompts(c.req.valid('json'))
      const { jobs } = validate(spec, deps.allowFaultInjection)
      const exp = await withStore(c, (store) =>
        store.create(c.get('tenant').id, { id: newId('ex'), name: spec.name, spec, totalJobs: jobs }),
      )
      try {
        for (let start = 0; start < jobs; start += 100) {
          const batch = []
          for (let j = start; j < Math.min(jobs, start + 100); j++)
            batch.push({ body: { experimentId: exp.id, job: j } })
          await deps.queue!.sendBatch(batch)
        }
      } catch (e) {
        await withStore(c, (store) => store.fail(exp.id, 'its jobs could not be queued'))
        console.error(
          JSON.stringify({
            level: 'error',
            msg: 'experiment enqueue failed',
            experimentId: exp.id,
            error: String(e),
          }),
        )
        throw new ApiError(
          503,
          'queue_unavailable',
          'the experiment queue is unavailable; the experiment was marked failed',
        )
      }
      const notes: string[] = []
      if (spec.samples > promptCount(spec))
        notes.push(`${spec.samples} samples share ${promptCount(spec)} prompts (their sampling seeds differ)`)
      return c.json({ ...view(exp), notes, prefixLengths: prefixLengths(spec) }, 201)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/experiments',
      summary: "List this tenant's experiments (newest first)",
      responses: {
        200: json(z.object({ experiments: z.array(ExperimentSchema) }), 'Experiments'),
        ...errors,
      },
    }),
    async (c) => {
      const list = await withStore(c, (store) => store.list(c.get('tenant').id))
      return c.json(
        {
          experiments: list.map((e) => ({
            id: e.id,
            name: e.name,
            status: e.status,
            createdAt: e.createdAt,
            finishedAt: e.finishedAt,
            progress: experimentProgress(e),
          })),
        },
        200,
      )
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/experiments/{id}',
      request: { params: IdParam },
      summary: 'Status, progress (done/total, rate, ETA), failures and metrics',
      responses: { 200: json(ExperimentSchema, 'Experiment'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(
        await withStore(c, async (store) => {
          const exp = found(await store.get(c.get('tenant').id, id), id)
          return view(exp, await store.failures(exp.id))
        }),
        200,
      )
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/experiments/{id}/cancel',
      request: { params: IdParam },
      summary: 'Cancel: queued jobs are dropped when they come up; finished results are kept',
      responses: { 200: json(ExperimentSchema, 'Experiment'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(
        await withStore(c, async (store) => {
          const exp = found(await store.cancel(c.get('tenant').id, id), id)
          return view(exp, await store.failures(exp.id))
        }),
        200,
      )
    },
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/experiments/{id}/resume',
      request: { params: IdParam },
      summary: 'Send the unfinished jobs again (messages lost by a local queue, a stuck experiment)',
      responses: {
        200: json(ExperimentSchema, 'Experiment, with the number of jobs sent again'),
        409: json(ErrorSchema, 'The experiment has finished'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(
        await withStore(c, async (store) => {
          const exp = found(await store.get(c.get('tenant').id, id), id)
          if (exp.status !== 'queued' && exp.status !== 'running')
            throw new ApiError(
              409,
              'experiment_finished',
              `experiment "${id}" is ${exp.status}; nothing to resume`,
            )
          // Jobs are idempotent: one that is still queued and now runs twice writes its rows once.
          const jobs = await store.unfinishedJobs(exp.id, exp.totalJobs)
          await enqueue(exp.id, jobs)
          return { ...view(exp, await store.failures(exp.id)), requeued: jobs.length }
        }),
        200,
      )
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/experiments/{id}/export',
      request: { params: IdParam, query: z.object({ format: z.enum(['csv', 'jsonl']).default('jsonl') }) },
      summary: 'Every sample row as CSV (whole-text detection) or JSONL (with every prefix)',
      responses: {
        200: {
          content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } },
          description: 'Rows',
        },
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const { format } = c.req.valid('query')
      const { exp, rows } = await withStore(c, async (store) => {
        const exp = found(await store.get(c.get('tenant').id, id), id)
        return { exp, rows: await store.samples(exp.id) }
      })
      const cells = gridCells(ExperimentSpecSchema.parse(exp.spec))
      const named = (r: SampleRow) => ({
        scheme: cells[r.cell]?.scheme ?? null,
        keyLabel: cells[r.cell]?.keyLabel ?? null,
      })
      const headers = { 'content-disposition': `attachment; filename="${exp.id}.${format}"` }
      if (format === 'jsonl')
        return c.body(
          rows.map((r) => JSON.stringify({ experimentId: exp.id, ...named(r), ...r })).join('\n') +
            (rows.length ? '\n' : ''),
          200,
          { ...headers, 'content-type': 'application/x-ndjson; charset=utf-8' },
        )
      const lines = [[...CSV_COLUMNS, 'text'].join(',')]
      for (const r of rows) {
        const whole = r.detections[r.detections.length - 1]
        const n = named(r)
        lines.push(
          [
            r.sample,
            r.cell,
            n.scheme,
            n.keyLabel,
            r.attack,
            r.variant,
            r.tokens,
            whole?.scored,
            whole?.logPValue,
            whole ? Math.exp(whole.logPValue) : null,
            whole?.statistic,
            r.perplexity,
            r.editFraction,
            r.text,
          ]
            .map(csvField)
            .join(','),
        )
      }
      return c.body(`${lines.join('\n')}\n`, 200, { ...headers, 'content-type': 'text/csv; charset=utf-8' })
    },
  )
}
