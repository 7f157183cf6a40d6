// The generation loop: prompt (or chat messages through the model's template) → ids → one engine
// step and one core decoding step (nextToken, watermark included) per token, until maxTokens, an
// end-of-sequence id or a stop sequence. Seeded, so the same seed and request give the same text.
import { renderChat } from '../core/generation/chat-template.ts'
import { nextToken } from '../core/generation/next-token.ts'
import type { FinishReason, GenerateRequest, GenerateResult, Sampling } from '../core/generation/protocol.ts'
import { seededRng } from '../core/rng.ts'
import { argmax } from '../core/schemes/sampling.ts'
import type { WatermarkScheme } from '../core/schemes/types.ts'
import type { TextTokenizer } from '../core/tokenizers/registry.ts'
import type { ModelSpec } from '../models/registry.ts'
import { CompletionText, type TokenPiece } from './completion-text.ts'
import type { Engine } from './engine/types.ts'
import { ApiError, ERROR_CODES } from './errors.ts'
import { originTracer, recordSpanError } from './tracing.ts'

/** A validated request, ready to run: ids, settled sampling and the seed actually used. */
export interface GenerationPlan {
  promptIds: number[]
  sampling: Sampling
  seed: number
  watermark: { keyId: string; scheme: WatermarkScheme } | null
}

/** Settings the request left out come from the model's registry entry, not the protocol's defaults. */
export function settleSampling(
  parsed: Sampling,
  raw: Record<string, unknown> | undefined,
  defaults: ModelSpec['generation'],
): Sampling {
  const given = (field: keyof ModelSpec['generation']) => raw !== undefined && raw[field] !== undefined
  return {
    ...parsed,
    temperature: given('temperature') ? parsed.temperature : defaults.temperature,
    topK: given('topK') ? parsed.topK : defaults.topK,
    topP: given('topP') ? parsed.topP : defaults.topP,
    maxTokens: given('maxTokens') ? parsed.maxTokens : defaults.maxTokens,
  }
}

/** Prompt ids: the model's start ids, then the prompt or the chat rendered by its template. */
export function promptIds(model: ModelSpec, tokenizer: TextTokenizer, request: GenerateRequest): number[] {
  const text = request.prompt ?? renderChat(model.chatTemplate, request.messages!)
  return [...model.startIds, ...tokenizer.encode(text)]
}

/** A uniformly random 32-bit seed for requests that give none. */
export const randomSeed = () => crypto.getRandomValues(new Uint32Array(1))[0]

/** Checks what the schema cannot see: greedy vs watermark, and the model's context length. */
export function checkPlan(model: ModelSpec, plan: Omit<GenerationPlan, 'seed'>): void {
  if (plan.watermark && plan.sampling.temperature === 0)
    throw new ApiError(
      400,
      ERROR_CODES.greedyWatermark,
      'temperature 0 (greedy decoding) cannot carry a watermark: every scheme needs to sample; use temperature > 0 or no watermark',
    )
  const needed = plan.promptIds.length + plan.sampling.maxTokens
  if (needed > model.maxContextTokens)
    throw new ApiError(
      400,
      ERROR_CODES.contextTooLong,
      `prompt (${plan.promptIds.length} tokens) + maxTokens (${plan.sampling.maxTokens}) exceeds the model's context of ${model.maxContextTokens} tokens`,
    )
}

export interface RunOptions {
  /** Aborted when the client goes away: the loop stops at the next step. */
  signal?: AbortSignal
  /** Called with each token's step time (engine + decoding step), ms. */
  onStep?: (ms: number) => void
}

export interface RunOutcome {
  text: string
  tokens: number[]
  finishReason: FinishReason
  /** ms from the start of the run to the first chosen token (prefill included). */
  firstTokenMs: number
}

export interface RunDeps {
  engine: Engine
  model: ModelSpec
  tokenizer: TextTokenizer
}

/**
 * Runs one generation, yielding each token's piece as soon as it is final (see CompletionText) and
 * returning the outcome. Throws the signal's reason when cancelled. Traced as a `wmlab.generate` span
 * (model, scheme, token counts, finish reason; never the prompt, the text or the key).
 */
export async function* runGeneration(
  deps: RunDeps,
  plan: GenerationPlan,
  options: RunOptions = {},
): AsyncGenerator<TokenPiece, RunOutcome> {
  const { engine, model, tokenizer } = deps
  const { sampling } = plan
  const rng = seededRng(plan.seed)
  const watermarker = plan.watermark?.scheme.watermarker(plan.promptIds) ?? null
  const completion = new CompletionText(tokenizer, sampling.stop)
  const eos = new Set(model.eosTokenIds)
  const minTokens = Math.min(sampling.minTokens ?? 0, sampling.maxTokens)
  const seq = engine.open()
  const span = originTracer().startSpan('wmlab.generate', {
    attributes: {
      'wmlab.model': model.id,
      'wmlab.scheme': plan.watermark?.scheme.name ?? 'none',
      'wmlab.prompt_tokens': plan.promptIds.length,
      'wmlab.max_tokens': sampling.maxTokens,
    },
  })
  const t0 = performance.now()
  let firstTokenMs = 0
  let finishReason: FinishReason = 'length'
  try {
    let stepStart = t0
    let logits = await seq.prefill(plan.promptIds)
    for (let i = 0; i < sampling.maxTokens; i++) {
      options.signal?.throwIfAborted()
      // the engine's logits buffer is ours to change: masking eos here keeps nextToken unchanged
      if (i < minTokens) for (const id of eos) logits[id] = -Infinity
      if (sampling.interleave && (i + 1) % (sampling.interleave.every + 1) === 0)
        constrainTo(logits, sampling.interleave.choices)
      const token =
        sampling.temperature === 0 ? argmax(logits) : nextToken(logits, sampling, watermarker, rng)
      const now = performance.now()
      options.onStep?.(now - stepStart)
      if (i === 0) firstTokenMs = now - t0
      if (eos.has(token)) {
        finishReason = 'eos'
        break
      }
      yield* completion.push(token)
      if (completion.stopped) {
        finishReason = 'stop'
        break
      }
      if (i + 1 < sampling.maxTokens) {
        stepStart = performance.now()
        logits = await seq.decode(token)
      }
    }
    yield* completion.flush()
    span.setAttribute('wmlab.finish_reason', finishReason)
    return { text: completion.text, tokens: completion.tokens, finishReason, firstTokenMs }
  } catch (err) {
    recordSpanError(span, err)
    throw err
  } finally {
    seq.release()
    // also on a cancelled or failed run: the tokens chosen until then
    span.setAttribute('wmlab.tokens', completion.tokens.length)
    span.end()
  }
}

/**
 * Leaves only `choices` allowed. A choice the model gives −∞ (brown-lm never saw emojis) gets logit 0,
 * so a constrained step always has candidates; ids beyond the vocabulary are ignored.
 */
function constrainTo(logits: Float32Array, choices: readonly number[]) {
  const kept = choices.filter((id) => id < logits.length).map((id) => [id, logits[id]] as const)
  if (kept.length === 0) return
  logits.fill(-Infinity)
  for (const [id, v] of kept) logits[id] = Number.isFinite(v) ? v : 0
}

/** The protocol's result for a finished run. */
export function generateResult(
  id: string,
  model: ModelSpec,
  plan: GenerationPlan,
  outcome: RunOutcome,
  timing: { startedAt: number; loadMs?: number; queuedMs: number },
): GenerateResult {
  const totalMs = performance.now() - timing.startedAt
  const runSeconds = Math.max(totalMs - timing.queuedMs, 1e-3) / 1000
  return {
    id,
    model: model.id,
    text: outcome.text,
    tokens: outcome.tokens,
    finishReason: outcome.finishReason,
    usage: { promptTokens: plan.promptIds.length, completionTokens: outcome.tokens.length },
    watermark: plan.watermark ? { keyId: plan.watermark.keyId, scheme: plan.watermark.scheme.name } : null,
    timing: {
      ...(timing.loadMs !== undefined ? { loadMs: timing.loadMs } : {}),
      firstTokenMs: timing.queuedMs + outcome.firstTokenMs,
      totalMs,
      tokensPerSecond: outcome.tokens.length / runSeconds,
    },
  }
}
