// The contract between the origin's generation loop and a model runtime. The loop owns sampling
// and the watermark; an engine only turns token ids into next-token logits, one sequence at a time,
// keeping that sequence's KV cache between calls.

/** One sequence being decoded: its KV cache lives here until release(). */
export interface EngineSequence {
  /** Tokens fed so far (the cache length). */
  readonly length: number
  /**
   * Feeds `ids` (≥ 1) after what the sequence already holds and returns the next-token logits after
   * the last of them (length = the model's vocabSize; −Infinity for ids the model never produces).
   * `eachRow(row, i)` sees the logits after ids[i] for every i (scoring); rows are only valid
   * during the call.
   */
  prefill(ids: readonly number[], eachRow?: (row: Float32Array, i: number) => void): Promise<Float32Array>
  /** One decoding step: feeds one id through the KV cache and returns the next-token logits. */
  decode(id: number): Promise<Float32Array>
  /** Drops the cache. */
  release(): void
}

export interface Engine {
  readonly modelId: string
  /** Where the model runs, e.g. 'cpu' or 'cuda'. */
  readonly device: string
  /** Width of every logits row. */
  readonly vocabSize: number
  /** Wall time of load (files → a session that has answered one forward pass), ms. */
  readonly loadMs: number
  open(): EngineSequence
  /** Frees the model's sessions; the engine is unusable afterwards. */
  release(): Promise<void>
}
