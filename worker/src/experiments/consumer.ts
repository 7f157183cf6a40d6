// Cloudflare Queues consumers for experiments. The jobs queue runs each message's job and acks it, or
// asks for a retry (its error kept for the failure report); after max_retries Queues moves the
// message to the dead-letter queue, whose consumer records the job as failed. Either consumer stores
// the metrics when it finishes an experiment's last job.
import type { ExperimentStore } from '../../adapters/experiments-db.ts'
import { finishIfComplete, InjectedCrash, type JobDeps, runJob } from './job.ts'

export interface ExperimentMessage {
  experimentId: string
  job: number
}

/** The parts of Cloudflare's Message / MessageBatch the consumers use (workers-types shape). */
export interface QueueMessage<T> {
  readonly body: T
  readonly attempts: number
  /** When the message was first sent. */
  readonly timestamp?: Date
  ack(): void
  retry(options?: { delaySeconds?: number }): void
}
export interface QueueBatch<T> {
  readonly queue: string
  readonly messages: readonly QueueMessage<T>[]
}

const isMessage = (b: unknown): b is ExperimentMessage =>
  typeof b === 'object' &&
  b !== null &&
  typeof (b as ExperimentMessage).experimentId === 'string' &&
  Number.isInteger((b as ExperimentMessage).job)

const log = (level: string, msg: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ level, msg, ...fields }))

/** Jobs of one batch run two at a time: the origin serves two generations at once. */
const CONCURRENCY = 2

/** What the consumer saw of its queue, for queue_depth / queue_oldest_message_age_seconds. */
export async function queueGauges(
  batch: QueueBatch<unknown>,
  experiments: ExperimentStore,
  now = Date.now(),
): Promise<{ depth: number; oldestAgeSeconds: number }> {
  const sent = batch.messages.map((m) => m.timestamp?.getTime() ?? now)
  return {
    depth: await experiments.backlog(),
    oldestAgeSeconds: Math.max(0, (now - Math.min(now, ...sent)) / 1000),
  }
}

export async function consumeExperimentJobs(batch: QueueBatch<unknown>, deps: JobDeps): Promise<void> {
  const touched = new Set<string>()
  const queue = [...batch.messages]
  let crash: InjectedCrash | undefined
  const worker = async () => {
    for (let msg = queue.shift(); msg && !crash; msg = queue.shift()) {
      if (!isMessage(msg.body)) {
        log('error', 'experiment message malformed; dropped', { body: String(msg.body).slice(0, 200) })
        msg.ack()
        continue
      }
      const { experimentId, job } = msg.body
      try {
        const outcome = await runJob(deps, experimentId, job, msg.attempts)
        if (outcome === 'done' || outcome === 'already-done') touched.add(experimentId)
        msg.ack()
      } catch (e) {
        if (e instanceof InjectedCrash) {
          // A crash, not a job error: nothing is acked or retried one by one; Queues redelivers the batch.
          crash = e
          return
        }
        const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
        log('warn', 'experiment job failed; will retry', { experimentId, job, attempt: msg.attempts, error })
        await deps.experiments
          .recordJob(experimentId, job, 'retrying', msg.attempts, error)
          .catch(() => undefined)
        msg.retry({ delaySeconds: Math.min(30, 2 ** (msg.attempts - 1)) })
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  if (crash) throw crash
  for (const id of touched) await finishIfComplete(deps.experiments, id)
}

export async function consumeDeadLetters(
  batch: QueueBatch<unknown>,
  experiments: ExperimentStore,
): Promise<void> {
  const touched = new Set<string>()
  for (const msg of batch.messages) {
    if (isMessage(msg.body)) {
      const { experimentId, job } = msg.body
      log('error', 'experiment job dead-lettered', { experimentId, job, attempts: msg.attempts })
      await experiments.recordJob(experimentId, job, 'failed', msg.attempts, 'failed after all retries')
      touched.add(experimentId)
    }
    msg.ack()
  }
  for (const id of touched) await finishIfComplete(experiments, id)
}
