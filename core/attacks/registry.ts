// Every attack the lab runs, by name (ATTACK_NAMES in core/experiments/spec.ts).
import type { AttackName } from '../experiments/spec.ts'
import { caseChange } from './case-change.ts'
import { copyPaste } from './copy-paste.ts'
import { emoji } from './emoji.ts'
import { homoglyph } from './homoglyph.ts'
import { paraphrase } from './paraphrase.ts'
import { synonymSubstitution } from './synonym-substitution.ts'
import { tokenSubstitution } from './token-substitution.ts'
import type { Attack } from './types.ts'
import { typos } from './typos.ts'
import { wordDeletion } from './word-deletion.ts'
import { wordInsertion } from './word-insertion.ts'
import { zeroWidth } from './zero-width.ts'

const attacks: Readonly<Record<AttackName, Attack>> = {
  'word-deletion': wordDeletion,
  'token-substitution': tokenSubstitution,
  'synonym-substitution': synonymSubstitution,
  'word-insertion': wordInsertion,
  typos,
  'case-change': caseChange,
  'copy-paste': copyPaste,
  homoglyph,
  'zero-width': zeroWidth,
  paraphrase,
  emoji,
}

export const attackNames = Object.keys(attacks) as AttackName[]

export class UnknownAttackError extends Error {
  constructor(name: string) {
    super(`unknown attack "${name}"; known: ${attackNames.join(', ')}`)
    this.name = 'UnknownAttackError'
  }
}

export function getAttack(name: string): Attack {
  if (!Object.hasOwn(attacks, name)) throw new UnknownAttackError(name)
  return attacks[name as AttackName]
}

/** 'text' attacks apply directly, 'origin' ones need a model call, 'generation' ones act while generating. */
export function attackKind(name: string): Attack['kind'] {
  return getAttack(name).kind
}
