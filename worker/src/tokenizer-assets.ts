// Tokenizers bundled into the Worker as compiled binary Data modules (scripts/compile-tokenizers.mjs,
// run by `npm run build`): loading one takes milliseconds instead of parsing an 11 MB tokenizer.json.
// Loaded lazily, once per isolate; tests pass the JSON files as bindings instead.
import llama3 from '../../node_modules/.cache/wmlab-tokenizers/llama3.bin'
import qwen3 from '../../node_modules/.cache/wmlab-tokenizers/qwen3.bin'

const compiled: Record<string, ArrayBuffer> = { qwen3, llama3 }

export function tokenizerBin(id: string): Uint8Array {
  const bin = compiled[id]
  if (!bin) throw new RangeError(`tokenizer "${id}" is not bundled into the worker`)
  return new Uint8Array(bin)
}
