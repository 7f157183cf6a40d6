// vLLM's generation-side context: the last `width` generated ids (−1 before the completion, so
// prompt ids never enter the PRF) and its repeated-context mask (`single_turn` scope).

export class GeneratedContext {
  private readonly generated: number[] = []
  /** context key → the latest position it served as context for. */
  private readonly lastUse = new Map<string, number>()

  constructor(
    readonly width: number,
    /** vLLM deduplicate_contexts_max_history (8192); null = unbounded. */
    private readonly maxHistory: number | null = 8192,
    /** Skip watermarking rows whose context was already used (vLLM default `single_turn`). */
    private readonly dedup = true,
  ) {}

  /** The current context, oldest first. */
  current(): number[] {
    const out: number[] = []
    const n = this.generated.length
    for (let j = 0; j < this.width; j++) {
      const p = n - this.width + j
      out.push(p >= 0 ? this.generated[p] : -1)
    }
    return out
  }

  /** True when the current context already served an earlier position within the history window. */
  isRepeated(): boolean {
    if (!this.dedup) return false
    const last = this.lastUse.get(this.current().join(','))
    if (last === undefined) return false
    const start = this.maxHistory === null ? 0 : Math.max(0, this.generated.length - this.maxHistory)
    return last >= start
  }

  push(token: number): void {
    this.lastUse.set(this.current().join(','), this.generated.length)
    this.generated.push(token)
  }
}
