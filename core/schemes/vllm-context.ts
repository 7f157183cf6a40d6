// vLLM's generation-side context: the last `width` generated ids (−1 before the completion, so
// prompt ids never enter the PRF) and its repeated-context mask (`repeated_context_mask`).

/** vLLM `deduplicate_contexts`: which earlier positions count as "already used this context". */
export type DedupScope = 'none' | 'single_turn' | 'all'

export class GeneratedContext {
  private readonly generated: number[] = []
  /** The history the mask searches: generated ids (single_turn) or prompt + generated (all). */
  private readonly history: number[]
  /** context key → the latest history position it served as context for. */
  private readonly lastUse = new Map<string, number>()

  constructor(
    readonly width: number,
    /** vLLM deduplicate_contexts_max_history (8192); null = unbounded. */
    private readonly maxHistory: number | null = 8192,
    private readonly scope: DedupScope = 'single_turn',
    prompt: readonly number[] = [],
  ) {
    this.history = []
    if (scope === 'all') for (const t of prompt) this.record(t)
  }

  /** The current context, oldest first: −1 where the position is before the completion. */
  current(): number[] {
    return this.window(this.generated, this.generated.length)
  }

  /** True when this row is generated without the watermark. */
  isRepeated(): boolean {
    if (this.scope === 'none') return false
    // Under `all`, the first `width` generated rows have prompt positions in their context.
    if (this.scope === 'all' && this.generated.length < this.width) return true
    const last = this.lastUse.get(this.current().join(','))
    if (last === undefined) return false
    const start = this.maxHistory === null ? 0 : Math.max(0, this.history.length - this.maxHistory)
    return last >= start
  }

  push(token: number): void {
    this.generated.push(token)
    this.record(token)
  }

  private record(token: number): void {
    this.lastUse.set(this.window(this.history, this.history.length).join(','), this.history.length)
    this.history.push(token)
  }

  private window(ids: readonly number[], end: number): number[] {
    const out: number[] = []
    for (let j = 0; j < this.width; j++) {
      const p = end - this.width + j
      out.push(p >= 0 ? ids[p] : -1)
    }
    return out
  }
}
