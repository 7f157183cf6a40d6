// Scores a text under the model: ln p of each token given everything before it, and the entropy of
// each next-token distribution (for perplexity and entropy-aware detection). One prefill with the
// KV cache; each position's row is read while its chunk is alive and then dropped.
import type { ScoreRequest, ScoreResult } from '../core/generation/protocol.ts'
import type { TextTokenizer } from '../core/tokenizers/registry.ts'
import type { ModelSpec } from '../models/registry.ts'
import type { Engine } from './engine/types.ts'
import { ApiError, ERROR_CODES } from './errors.ts'
import { withSpan } from './tracing.ts'

/** ln p(target) and the entropy (nats) of softmax(row), in float64; −Infinity logits count as p = 0. */
export function logprobAndEntropy(row: Float32Array, target: number): { logprob: number; entropy: number } {
  let max = -Infinity
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i]
  let sum = 0
  let weighted = 0
  for (let i = 0; i < row.length; i++) {
    const x = row[i]
    if (x === -Infinity) continue
    const e = Math.exp(x - max)
    sum += e
    weighted += e * (x - max)
  }
  const logZ = Math.log(sum)
  // H = −Σ p ln p = logZ − Σ p (x − max) with p = e^(x−max) / Z
  return { logprob: row[target] - max - logZ, entropy: logZ - weighted / sum }
}

type ScoreDeps = { engine: Engine; model: ModelSpec; tokenizer: TextTokenizer }

/**
 * The score of `request.text` after `request.context` (and the model's start ids), in a
 * `wmlab.score` span (model and token count; never the text).
 *
 * @example
 * const r = await scoreText({ engine, model, tokenizer }, { text: 'The jury said', context: '' })
 * r.perplexity // exp(−mean logprob)
 */
export function scoreText(
  deps: ScoreDeps,
  request: Pick<ScoreRequest, 'text' | 'context'>,
  signal?: AbortSignal,
): Promise<ScoreResult> {
  return withSpan('wmlab.score', { 'wmlab.model': deps.model.id }, async (span) => {
    const result = await scoreUntraced(deps, request, signal)
    span.setAttribute('wmlab.tokens', result.tokens.length)
    return result
  })
}

async function scoreUntraced(
  deps: ScoreDeps,
  request: Pick<ScoreRequest, 'text' | 'context'>,
  signal?: AbortSignal,
): Promise<ScoreResult> {
  const { engine, model, tokenizer } = deps
  const context = [...model.startIds, ...tokenizer.encode(request.context)]
  const tokens = Array.from(tokenizer.encode(request.text))
  if (tokens.length === 0)
    throw new ApiError(400, ERROR_CODES.invalidRequest, 'text: encodes to no tokens; nothing to score')
  if (context.length + tokens.length > model.maxContextTokens)
    throw new ApiError(
      400,
      ERROR_CODES.contextTooLong,
      `context + text are ${context.length + tokens.length} tokens; the model's context is ${model.maxContextTokens}`,
    )
  // the row after position j predicts position j + 1; rows before the context's last id are skipped
  const ids = [...context, ...tokens.slice(0, -1)]
  const logprobs: (number | null)[] = []
  const entropies: number[] = []
  const seq = engine.open()
  try {
    signal?.throwIfAborted()
    await seq.prefill(ids, (row, j) => {
      const t = j - context.length + 1
      if (t < 0) return
      const { logprob, entropy } = logprobAndEntropy(row, tokens[t])
      // JSON has no −Infinity: a token the model cannot produce (brown-lm: one Brown never used) is null.
      logprobs.push(Number.isFinite(logprob) ? logprob : null)
      entropies.push(entropy)
    })
  } finally {
    seq.release()
  }
  const impossible = logprobs.some((l) => l === null)
  const mean = logprobs.reduce<number>((a, b) => a + (b ?? 0), 0) / logprobs.length
  return { model: model.id, tokens, logprobs, entropies, perplexity: impossible ? null : Math.exp(-mean) }
}
