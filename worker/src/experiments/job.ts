// One experiment job: one sample of one grid cell. Generate (watermarked, and the unwatermarked
// baseline with the same prompt and seed), apply each attack, detect every text on its prefixes,
// score perplexity at the origin, and write one row per (sample, cell, attack, variant). Rows are
// keyed, and the job is recorded only after its rows, so a retried job writes nothing twice and a
// crash anywhere in between loses nothing.
import { getAttack } from '../../../core/attacks/registry.ts'
import { detectPrefixes, sampleSeed } from '../../../core/experiments/rows.ts'
import { promptFor } from '../../../core/experiments/prompts.ts'
import {
  attackLabel,
  type ExperimentSpec,
  ExperimentSpecSchema,
  gridCells,
  jobOf,
  prefixLengths,
} from '../../../core/experiments/spec.ts'
import type { SampleRow, SampleVariant } from '../../../core/experiments/types.ts'
import type { GenerateRequest, Sampling, WatermarkSpec } from '../../../core/generation/protocol.ts'
import type { ScoringKernel } from '../../../core/kernel/types.ts'
import { keyedScheme } from '../../../core/keys/watermark-key.ts'
import { continueTrace, formatTraceparent } from '../trace-context.ts'
import { normalizeText } from '../../../core/text/normalize.ts'
import type { TextTokenizer } from '../../../core/tokenizers/registry.ts'
import { summarizeExperiment } from '../../../core/metrics/index.ts'
import type { ExperimentStore } from '../../adapters/experiments-db.ts'
import type { OriginClient } from '../origin-client.ts'
import { tokenizerForModel } from './models.ts'

export interface JobDeps {
  experiments: ExperimentStore
  origin: OriginClient
  tokenizer(id: string): Promise<TextTokenizer>
  kernel(): Promise<ScoringKernel>
  masterSecret: string
}

/** Thrown by spec.faults.crashOnce: the consumer dies mid-job (after part of its rows). */
export class InjectedCrash extends Error {
  override name = 'InjectedCrash'
}

/** The key a grid cell watermarks with: derived (HKDF) from the master secret and this id, never stored. */
export const cellKeyId = (experimentId: string, cell: number) => `${experimentId}.k${cell}`

export type JobOutcome = 'done' | 'already-done' | 'cancelled' | 'gone'

export async function runJob(
  deps: JobDeps,
  experimentId: string,
  job: number,
  attempt: number,
): Promise<JobOutcome> {
  const exp = await deps.experiments.byId(experimentId)
  if (!exp) return 'gone'
  if (exp.status !== 'queued' && exp.status !== 'running') return 'cancelled'
  if (await deps.experiments.jobFinished(experimentId, job)) return 'already-done'
  const spec = ExperimentSpecSchema.parse(exp.spec)
  if (spec.faults?.failAlways?.includes(job)) throw new Error(`injected failure of job ${job}`)
  await deps.experiments.markRunning(experimentId)

  const cells = gridCells(spec)
  const { sample, cell } = jobOf(job, cells.length)
  const c = cells[cell]
  const tok = await deps.tokenizer(tokenizerForModel(spec.model))
  const scheme = await keyedScheme(
    deps.masterSecret,
    { keyId: cellKeyId(experimentId, cell), scheme: c.scheme, params: c.params },
    tok.logitsSize,
    { kernel: await deps.kernel() },
  )
  const watermark: WatermarkSpec = {
    keyId: cellKeyId(experimentId, cell),
    scheme: c.scheme,
    params: c.params,
  }
  const { prompt, human } = promptFor(spec, sample)
  const seed = sampleSeed(spec.seed, sample)
  const sampling: Sampling = {
    ...spec.sampling,
    maxTokens: spec.maxNewTokens,
    // Full-length texts: TPR at T = maxNewTokens must not be cut short by an early end of text.
    minTokens: spec.maxNewTokens,
    stop: [],
    seed,
  }
  // Where a job's time goes (logged per job): generation and scoring at the origin, detection here.
  const ms = { generate: 0, score: 0, detect: 0, attack: 0 }
  const timed = async <T>(phase: keyof typeof ms, fn: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now()
    try {
      return await fn()
    } finally {
      ms[phase] += performance.now() - t0
    }
  }
  const started = performance.now()
  // One trace per job: its generations and scorings at the origin share it.
  const call = { traceparent: formatTraceparent(continueTrace(undefined)) }
  const generate = (wm: WatermarkSpec | null, s: Sampling = sampling, p = prompt) =>
    timed(
      'generate',
      async () =>
        (
          await deps.origin.complete(
            {
              model: spec.model,
              prompt: p,
              sampling: s,
              watermark: wm,
              stream: true,
            } as GenerateRequest,
            undefined,
            call,
          )
        ).text,
    )
  const lengths = prefixLengths(spec)
  const rows: SampleRow[] = []
  const add = async (
    attack: string,
    variant: SampleVariant,
    text: string,
    withPerplexity: boolean,
    edit: number | null,
  ) => {
    const ids = tok.encode(normalizeText(text))
    const perplexity =
      withPerplexity && text.trim()
        ? await timed(
            'score',
            async () =>
              (await deps.origin.score({ model: spec.model, text, context: prompt }, undefined, call))
                .perplexity,
          )
        : null
    rows.push({
      sample,
      cell,
      attack,
      variant,
      text,
      tokens: ids.length,
      detections: await timed('detect', () => detectPrefixes(scheme, ids, lengths)),
      perplexity: perplexity !== null && Number.isFinite(perplexity) ? perplexity : null,
      editFraction: edit,
    })
  }

  const marked = await generate(watermark)
  await add('none', 'watermarked', marked, true, null)
  await add('none', 'unwatermarked', await generate(null), true, null)
  if (human !== null) {
    // Human text as long as the completions (in the detector's tokens), so null and positive texts compare.
    const ids = tok.encode(normalizeText(human)).subarray(0, spec.maxNewTokens)
    await add('none', 'human', tok.decode(ids), true, null)
  }
  if (spec.faults?.crashOnce?.includes(job) && attempt === 1) {
    await deps.experiments.insertSamples(experimentId, rows.slice(0, 2))
    throw new InjectedCrash(`injected crash in job ${job} after 2 of its rows`)
  }

  for (const [i, a] of spec.attacks.entries()) {
    const attack = getAttack(a.name)
    const ctx = {
      seed: (seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0,
      strength: a.strength,
      tokenizer: tok,
      humanText: human ?? undefined,
      spans: a.spans,
    }
    let result: { text: string; editFraction: number }
    if (attack.kind === 'text') result = await timed('attack', () => attack.apply(marked, ctx))
    else if (attack.kind === 'origin') {
      const r = attack.request(marked, ctx)
      const out = await generate(
        null,
        { ...sampling, temperature: r.temperature, maxTokens: r.maxTokens, minTokens: 0, seed: ctx.seed },
        r.prompt,
      )
      // A model that answers nothing erased the text: record that (undetectable) rather than fail the job.
      result = out.trim() ? attack.finish(out, marked) : { text: '', editFraction: 1 }
    } else {
      const interleave = attack.generation(tok, a.strength)
      result = attack.clean(await generate(watermark, { ...sampling, interleave }))
    }
    await add(attackLabel(a), 'watermarked', result.text, false, result.editFraction)
  }

  await deps.experiments.insertSamples(experimentId, rows)
  await deps.experiments.recordJob(experimentId, job, 'done', attempt, null)
  const round = (x: number) => Math.round(x)
  console.log(
    JSON.stringify({
      level: 'info',
      msg: 'experiment job done',
      experimentId,
      job,
      attempt,
      ms: round(performance.now() - started),
      generateMs: round(ms.generate),
      scoreMs: round(ms.score),
      detectMs: round(ms.detect),
      attackMs: round(ms.attack),
    }),
  )
  return 'done'
}

/** Stores the metrics and final status once every job is done or failed (idempotent, race-safe). */
export async function finishIfComplete(experiments: ExperimentStore, experimentId: string): Promise<boolean> {
  const exp = await experiments.byId(experimentId)
  if (!exp || (exp.status !== 'queued' && exp.status !== 'running')) return false
  if (exp.doneJobs + exp.failedJobs < exp.totalJobs) return false
  const spec = ExperimentSpecSchema.parse(exp.spec)
  const status = exp.doneJobs === 0 ? 'failed' : exp.failedJobs > 0 ? 'completed_with_failures' : 'completed'
  return experiments.finish(experimentId, status, await computeMetrics(experiments, experimentId, spec))
}

export async function computeMetrics(
  experiments: ExperimentStore,
  experimentId: string,
  spec: ExperimentSpec,
) {
  const rows = await experiments.samples(experimentId)
  const cells = gridCells(spec).map(({ cell, scheme, params, keyLabel }) => ({
    cell,
    scheme,
    params,
    keyLabel,
  }))
  return summarizeExperiment(cells, rows, {
    targetFprs: spec.targetFprs,
    lengths: prefixLengths(spec),
    seed: spec.seed,
  })
}
