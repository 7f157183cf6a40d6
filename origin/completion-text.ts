// The text of a completion as it grows token by token: incremental detokenisation (a character split
// across tokens appears on the token that completes it) and stop sequences. Text that could be the
// start of a stop sequence is held back, so a streamed client never sees text that the final answer
// trims away: the streamed pieces always concatenate to the final text.
import type { TextTokenizer } from '../core/tokenizers/registry.ts'

/** One token as streamed: its index in the completion, its id and its share of the text. */
export interface TokenPiece {
  index: number
  token: number
  text: string
}

// A UTF-8 character is at most 4 bytes, so at most 4 byte-level tokens: never wait longer.
const MAX_PENDING_TOKENS = 4

export class CompletionText {
  private readonly ids: number[] = []
  private readonly pieces: string[] = []
  private pending: number[] = []
  private full = ''
  private emitted = 0
  private emittedChars = 0
  private cut: number | null = null

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly stops: readonly string[],
  ) {}

  /** The completion text so far (trimmed at the stop sequence once one matched). */
  get text(): string {
    return this.cut === null ? this.full : this.full.slice(0, this.cut)
  }

  /** The completion's token ids: after a stop, those that contribute text before it. */
  get tokens(): number[] {
    return this.ids.slice(0, this.cut === null ? this.ids.length : this.keptTokens())
  }

  /** True once a stop sequence matched; push() must not be called again. */
  get stopped(): boolean {
    return this.cut !== null
  }

  /** Adds one generated id; returns the pieces that are now final, in order. */
  push(id: number): TokenPiece[] {
    if (this.cut !== null) throw new Error('the completion already ended at a stop sequence')
    this.pending.push(id)
    const decoded = this.tokenizer.decode(this.pending)
    const incomplete = decoded.endsWith('\uFFFD') && this.pending.length < MAX_PENDING_TOKENS
    const piece = incomplete ? '' : decoded
    if (!incomplete) this.pending = []
    const before = this.full.length
    this.ids.push(id)
    this.pieces.push(piece)
    this.full += piece
    const stopAt = this.findStop(before)
    if (stopAt !== null) {
      this.cut = stopAt
      return this.release(this.keptTokens(), stopAt)
    }
    // tokens of an unfinished character wait for it, so their pieces can still change in flush()
    return this.release(this.ids.length - this.pending.length, this.full.length - this.heldBack(), true)
  }

  /** At the end of generation (eos, length, cancel): everything still held back. */
  flush(): TokenPiece[] {
    if (this.cut !== null) return []
    if (this.pending.length > 0) {
      // an unfinished character at the very end: show what the tokenizer makes of it
      const tail = this.tokenizer.decode(this.pending)
      this.pieces[this.pieces.length - 1] = tail
      this.full += tail
      this.pending = []
    }
    return this.release(this.ids.length, this.full.length)
  }

  /** Earliest index where a stop sequence starts, looking only where the new piece could complete one. */
  private findStop(before: number): number | null {
    let best: number | null = null
    for (const stop of this.stops) {
      const at = this.full.indexOf(stop, Math.max(0, before - stop.length + 1))
      if (at >= 0 && (best === null || at < best)) best = at
    }
    return best
  }

  /** Length of the longest suffix of the text that is a proper prefix of some stop sequence. */
  private heldBack(): number {
    let hold = 0
    for (const stop of this.stops)
      for (let k = Math.min(stop.length - 1, this.full.length); k > hold; k--)
        if (this.full.endsWith(stop.slice(0, k))) {
          hold = k
          break
        }
    return hold
  }

  /** Number of tokens whose text starts before the cut. */
  private keptTokens(): number {
    let offset = 0
    let kept = 0
    for (const piece of this.pieces) {
      if (offset >= this.cut!) break
      offset += piece.length
      kept++
    }
    return kept
  }

  /**
   * Emits tokens [emitted, upTo) whose text ends at or before `limitChars`; with `wholeOnly` a
   * token that would cross the limit waits, otherwise its text is truncated at the limit.
   */
  private release(upTo: number, limitChars: number, wholeOnly = false): TokenPiece[] {
    const out: TokenPiece[] = []
    while (this.emitted < upTo) {
      const piece = this.pieces[this.emitted]
      const room = limitChars - this.emittedChars
      if (wholeOnly && piece.length > room) break
      const text = piece.length > room ? piece.slice(0, Math.max(0, room)) : piece
      out.push({ index: this.emitted, token: this.ids[this.emitted], text })
      this.emitted++
      this.emittedChars += text.length
    }
    return out
  }
}
