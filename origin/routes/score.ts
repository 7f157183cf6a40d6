// POST /v1/score: per-token log-probabilities and entropies of a text under the model, and its
// perplexity. Scoring uses the model, so it takes a generation slot like a generation does.
import type { Context } from 'hono'
import { ScoreRequestSchema } from '../../core/generation/protocol.ts'
import { acquireSlot, type OriginContext } from '../context.ts'
import { readJsonBody } from '../request-body.ts'
import { scoreText } from '../score.ts'
import { checkModel } from './generate.ts'

export async function scoreRoute(ctx: OriginContext, c: Context): Promise<Response> {
  const { parsed: request } = await readJsonBody(c, ScoreRequestSchema)
  checkModel(ctx, request.model)
  const signal = c.req.raw.signal
  const release = await acquireSlot(ctx, signal)
  try {
    const { engine } = await ctx.engine()
    return c.json(await scoreText({ engine, model: ctx.model, tokenizer: ctx.tokenizer }, request, signal))
  } finally {
    release()
  }
}
