// Contracts of the robustness attacks. An attack is deterministic given (text, seed, strength) and
// reports the fraction it actually edited, in its own unit, so experiments can check the achieved
// strength instead of trusting the requested one.
import type { AttackName } from '../experiments/spec.ts'
import type { TextTokenizer } from '../tokenizers/registry.ts'

export interface AttackContext {
  seed: number
  /** Requested fraction of the attack's unit to edit, in (0, 1]. */
  strength: number
  /** Required by token-substitution; paraphrase uses it to size maxTokens. */
  tokenizer?: TextTokenizer
  /** Required by copy-paste: the human text the watermarked spans are pasted into. */
  humanText?: string
  /** copy-paste: how many watermarked spans k to paste (default COPY_PASTE_SPANS, 3). */
  spans?: number
}

export interface AttackResult {
  text: string
  /** Fraction of the unit actually edited (see each attack's `unit`). */
  editFraction: number
}

interface AttackBase {
  readonly name: AttackName
  /** What editFraction counts, e.g. 'words' or 'tokens'. */
  readonly unit: string
}

/** Rewrites the text directly. */
export interface TextAttack extends AttackBase {
  readonly kind: 'text'
  apply(text: string, ctx: AttackContext): AttackResult
}

/** What the consumer sends to the (unwatermarked) model for an origin attack. */
export interface OriginRequest {
  prompt: string
  temperature: number
  maxTokens: number
}

/** Needs a model call: `request` builds it, `finish` turns the model's answer into the result. */
export interface OriginAttack extends AttackBase {
  readonly kind: 'origin'
  request(text: string, ctx: AttackContext): OriginRequest
  finish(modelOutput: string, original: string): AttackResult
}

/**
 * Acts during watermarked generation: every `every`-th step the next token is still sampled with
 * the watermark, but only among `choices`.
 */
export interface GenerationPlan {
  every: number
  choices: number[]
}

export interface GenerationAttack extends AttackBase {
  readonly kind: 'generation'
  generation(tokenizer: TextTokenizer, strength: number): GenerationPlan
  /** What the attacker does to the generated text afterwards. */
  clean(text: string): AttackResult
}

export type Attack = TextAttack | OriginAttack | GenerationAttack

/** Bad input to an attack: a missing tokenizer or human text, a strength outside (0, 1], … */
export class AttackInputError extends Error {
  constructor(attack: string, message: string) {
    super(`${attack}: ${message}`)
    this.name = 'AttackInputError'
  }
}

export function checkStrength(attack: string, strength: number): void {
  if (!(strength > 0 && strength <= 1)) {
    throw new AttackInputError(attack, `strength must be in (0, 1], got ${strength}`)
  }
}
