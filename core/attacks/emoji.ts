// The emoji attack (Kirchenbauer et al. 2023): ask the model to put an emoji after every few words,
// then delete the emojis. The watermark was applied with the emojis in the context, so after
// deletion the contexts the detector recomputes differ from the ones generation used. Simulated at
// generation: every `every`-th step samples (still watermarked) among single-token emojis.
// clean's editFraction is the emoji share of emojis plus remaining words.
import type { TextTokenizer } from '../tokenizers/registry.ts'
import { checkStrength, type GenerationAttack } from './types.ts'

/** Emoji shown as emoji by default (Emoji_Presentation), so none needs a U+FE0F selector. */
export const EMOJIS: readonly string[] = [
  ...'😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😋😛😜🤪🤓😎🤩🥳😏😒😞😔😟😕🙁😣😖😫😩🥺😢😭😤😠😡🤯😳🥵🥶😱😨😰',
  ...'😥😓🤗🤔🤭🤫😶😐😑😬🙄😯😦😧😮😲🥱😴🤤😪😵🤐🥴🤢🤮🤧😷🤒🤕🤑🤠😈👿👹👺🤡💩👻💀👽👾🤖🎃😺😸😹😻',
  ...'👍👎👏🙌👋🙏💪👀🔥✨⭐🌟💯🎉🎊💖💕💙💚💛💜🧡🖤🌈🌞🌙🍀🌸🌹🌻🍎🍕🍔🎂☕⚡🚀🎵🎶💡📚✅❌',
]

// An emoji with its presentation selector, skin tone and zero-width-joined parts, if any.
const PICTOGRAPH = String.raw`(?:\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F)`
const EMOJI_RE = new RegExp(
  String.raw`${PICTOGRAPH}(?:\uFE0F|[\u{1F3FB}-\u{1F3FF}]|\u200D${PICTOGRAPH})*`,
  'gu',
)

const choicesCache = new WeakMap<TextTokenizer, number[]>()

/** Token ids that are exactly one built-in emoji in this tokenizer. */
export function singleTokenEmojis(tokenizer: TextTokenizer): number[] {
  let ids = choicesCache.get(tokenizer)
  if (!ids) {
    const found = new Set<number>()
    for (const emoji of EMOJIS) {
      const enc = tokenizer.encode(emoji)
      if (enc.length === 1 && tokenizer.decode(enc) === emoji) found.add(enc[0])
    }
    ids = [...found]
    choicesCache.set(tokenizer, ids)
  }
  return ids
}

export const emoji: GenerationAttack = {
  name: 'emoji',
  kind: 'generation',
  unit: 'emojis / (emojis + words)',
  generation(tokenizer, strength) {
    checkStrength(this.name, strength)
    return { every: Math.max(1, Math.round(1 / strength)), choices: singleTokenEmojis(tokenizer) }
  },
  clean(text) {
    let removed = 0
    const cleaned = text.replace(EMOJI_RE, () => {
      removed++
      return ''
    })
    const words = cleaned.split(/\s+/).filter(Boolean).length
    return { text: cleaned, editFraction: removed + words ? removed / (removed + words) : 0 }
  },
}
