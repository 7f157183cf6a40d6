// The origin's settings from its environment (origin/server.ts lists the variables). Checked once at
// startup: a missing secret or a malformed number stops the process with the variable's name.
type Env = Record<string, string | undefined>

function intFrom(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`)
  return n
}

/** The origin's settings from the environment; throws naming the variable when one is wrong. */
export function readOriginConfig(env: Env) {
  const allowUnsigned = env.ORIGIN_ALLOW_UNSIGNED === '1'
  const masterSecret = env.WATERMARK_MASTER_SECRET ?? ''
  if (masterSecret.length < 16)
    throw new Error('WATERMARK_MASTER_SECRET (at least 16 characters) is required')
  const signingSecret = env.ORIGIN_SIGNING_SECRET
  if (!allowUnsigned && (!signingSecret || signingSecret.length < 16))
    throw new Error(
      'ORIGIN_SIGNING_SECRET (at least 16 characters) is required unless ORIGIN_ALLOW_UNSIGNED=1',
    )
  const device = env.ORIGIN_DEVICE ?? 'cpu'
  if (device !== 'cpu' && device !== 'cuda')
    throw new Error(`ORIGIN_DEVICE must be cpu or cuda, got "${device}"`)
  return {
    port: intFrom(env, 'ORIGIN_PORT', 8788, 1),
    host: env.ORIGIN_HOST ?? '127.0.0.1',
    modelId: env.WMLAB_MODEL,
    device: device as 'cpu' | 'cuda',
    masterSecret,
    signingSecret,
    allowUnsigned,
    maxConcurrency: intFrom(env, 'ORIGIN_MAX_CONCURRENCY', 2, 1),
    maxQueue: intFrom(env, 'ORIGIN_MAX_QUEUE', 16, 0),
  }
}
