// Which tokenizer a model's text is detected with: models/registry.json, read as data (the Node
// loader in models/registry.ts needs the file system, which Workers do not have).
import registry from '../../../models/registry.json' with { type: 'json' }

const models = registry.models as Record<string, { tokenizer: string }>

export const modelIds = Object.keys(models)

export function tokenizerForModel(model: string): string {
  const m = models[model]
  if (!m) throw new Error(`unknown model "${model}"`)
  return m.tokenizer
}
