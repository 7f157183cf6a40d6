// The engine on @huggingface/transformers (onnxruntime-node underneath: CPU here, CUDA where the
// host has the provider). We run our own decoding loop on the model's forward pass with the KV
// cache instead of model.generate(), so every step goes through core's nextToken and the watermark.
import { basename, dirname } from 'node:path'
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers'
import { type ModelSpec, missingModelFiles } from '../../models/registry.ts'
import type { Engine, EngineSequence } from './types.ts'

export interface TransformersEngineOptions {
  /** The model folder (models/registry.ts modelDir). */
  dir: string
  /** onnxruntime execution provider: 'cpu' (default) or 'cuda'. */
  device?: 'cpu' | 'cuda'
  /**
   * Longest slice of a prompt fed in one forward pass. Each pass returns logits for every fed
   * position (seq × vocab floats, 39 MB for 64 × 151,936), so long prompts go in slices.
   */
  prefillChunkTokens?: number
}

/** The parts of a transformers.js causal LM this engine uses. */
interface CausalLm {
  forward(inputs: Record<string, unknown>): Promise<Record<string, Tensor>>
  dispose(): Promise<unknown>
}

const int64 = (values: ArrayLike<number>, dims: number[]) =>
  new Tensor(
    'int64',
    BigInt64Array.from(Array.from(values), (v) => BigInt(v)),
    dims,
  )

class TransformersSequence implements EngineSequence {
  private past: Record<string, Tensor> | null = null
  length = 0

  constructor(
    private readonly model: CausalLm,
    private readonly vocabSize: number,
    private readonly chunkTokens: number,
  ) {}

  async prefill(ids: readonly number[], eachRow?: (row: Float32Array, i: number) => void) {
    if (ids.length === 0) throw new RangeError('prefill needs at least one token id')
    let last: Float32Array | undefined
    for (let start = 0; start < ids.length; start += this.chunkTokens) {
      const chunk = ids.slice(start, start + this.chunkTokens)
      const { data, width } = await this.forward(chunk)
      for (let i = 0; i < chunk.length; i++)
        eachRow?.(data.subarray(i * width, i * width + this.vocabSize), start + i)
      const off = (chunk.length - 1) * width
      // copy the last row out so the chunk's (seq × vocab) buffer can be collected
      last = data.slice(off, off + this.vocabSize)
    }
    return last!
  }

  async decode(id: number) {
    const { data } = await this.forward([id])
    return data.length === this.vocabSize ? data : data.subarray(0, this.vocabSize)
  }

  release() {
    this.past = null
    this.length = 0
  }

  private async forward(ids: readonly number[]): Promise<{ data: Float32Array; width: number }> {
    const n = ids.length
    const total = this.length + n
    const positions = Array.from({ length: n }, (_, i) => this.length + i)
    const out = await this.model.forward({
      input_ids: int64(ids, [1, n]),
      attention_mask: int64(new Array(total).fill(1), [1, total]),
      position_ids: int64(positions, [1, n]),
      // null on the first pass: transformers.js builds the empty cache tensors from the graph
      past_key_values: this.past,
    })
    const next: Record<string, Tensor> = {}
    for (const [name, t] of Object.entries(out))
      if (name.startsWith('present.')) next[name.replace('present.', 'past_key_values.')] = t
    this.past = next
    this.length = total
    const logits = out.logits
    const width = logits.dims[2]
    if (width < this.vocabSize)
      throw new Error(
        `the model's logits have ${width} columns, the registry says vocabSize ${this.vocabSize}`,
      )
    // wider rows are padding the tokenizer never produces (e.g. 152,064 for 151,936): cropped
    return { data: logits.data as Float32Array, width }
  }
}

/**
 * Loads a registry model from its local folder with remote loading disabled, and runs one forward
 * pass so load time includes session warm-up and the logits width is checked before serving.
 *
 * @example
 * const engine = await loadTransformersEngine(spec, { dir: modelDir(spec) })
 * const seq = engine.open()
 * const logits = await seq.prefill([151643, 785])
 */
export async function loadTransformersEngine(
  spec: ModelSpec,
  options: TransformersEngineOptions,
): Promise<Engine> {
  const missing = missingModelFiles(spec, options.dir)
  if (missing.length > 0)
    throw new Error(
      `model "${spec.id}" is incomplete in ${options.dir}: missing ${missing.join(', ')} (see models/${spec.id}/README.md)`,
    )
  const t0 = performance.now()
  env.allowRemoteModels = false
  env.allowLocalModels = true
  env.useFSCache = false
  env.localModelPath = `${dirname(options.dir)}/`
  const device = options.device ?? 'cpu'
  const model = (await AutoModelForCausalLM.from_pretrained(basename(options.dir), {
    dtype: spec.dtype,
    device,
    use_external_data_format: spec.useExternalDataFormat,
  })) as unknown as CausalLm
  const chunkTokens = options.prefillChunkTokens ?? 64
  await new TransformersSequence(model, spec.vocabSize, chunkTokens).prefill(spec.startIds)
  const loadMs = performance.now() - t0
  return {
    modelId: spec.id,
    device,
    vocabSize: spec.vocabSize,
    loadMs,
    open: () => new TransformersSequence(model, spec.vocabSize, chunkTokens),
    release: async () => {
      await model.dispose()
    },
  }
}
