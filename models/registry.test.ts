// The model registry: the repository's file parses and agrees with its tokenizers, bad entries are
// refused naming the field, and the example entry documented in origin/README.md stays valid.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { getTokenizerSpec } from '../core/tokenizers/registry.ts'
import {
  loadModelRegistry,
  MODEL_REGISTRY_PATH,
  modelDir,
  parseModelRegistry,
  UnknownModelError,
} from './registry.ts'

const repoRegistry = () => JSON.parse(readFileSync(MODEL_REGISTRY_PATH, 'utf8'))

describe('models/registry.json', () => {
  it('lists brown-lm as the default, on the Qwen3 tokenizer at its full logits width', () => {
    const registry = loadModelRegistry()
    expect(registry.defaultId).toBe('brown-lm')
    const m = registry.get('brown-lm')
    expect(m).toMatchObject({
      id: 'brown-lm',
      path: 'models/brown-lm',
      tokenizer: 'qwen3',
      vocabSize: 151936,
      eosTokenIds: [151643],
      chatTemplate: 'plain',
      dtype: 'fp32',
    })
    expect(m.vocabSize).toBe(getTokenizerSpec('qwen3').logitsSize)
    expect(m.files).toContain('onnx/model.onnx')
    expect(() => registry.get('gpt-4')).toThrow(UnknownModelError)
    expect(() => registry.get('gpt-4')).toThrow(/known: brown-lm/)
  })

  it('resolves the folder from the registry path, or WMLAB_MODEL_DIR in development', () => {
    const m = loadModelRegistry().get('brown-lm')
    expect(modelDir(m, {})).toBe(resolve(MODEL_REGISTRY_PATH, '..', 'brown-lm'))
    expect(modelDir(m, { WMLAB_MODEL_DIR: '/tmp/some-model' })).toBe('/tmp/some-model')
  })

  it.each([
    ['a vocabulary other than the tokenizer logits width', { vocabSize: 151669 }, /logitsSize 151936/],
    ['an unknown tokenizer', { tokenizer: 'gpt2' }, /unknown tokenizer id 'gpt2'/],
    ['an unknown chat template', { chatTemplate: 'llama2' }, /chatTemplate must be one of: plain, chatml/],
    [
      'maxTokens not below the context',
      { generation: { temperature: 1, topK: 0, topP: 1, maxTokens: 2000 } },
      /maxTokens/,
    ],
    ['no start ids', { startIds: [] }, /startIds/],
    ['an unknown field', { weights: 'x' }, /weights/],
  ])('refuses %s', (_name, patch, message) => {
    const json = repoRegistry()
    json.models['brown-lm'] = { ...json.models['brown-lm'], ...patch }
    expect(() => parseModelRegistry(json)).toThrow(message)
  })

  it('refuses a default that is not listed', () => {
    expect(() => parseModelRegistry({ ...repoRegistry(), default: 'nope' })).toThrow(/default "nope"/)
  })

  it('accepts the real-model example documented in origin/README.md, by configuration only', () => {
    const readme = readFileSync(join(resolve(MODEL_REGISTRY_PATH, '..', '..'), 'origin', 'README.md'), 'utf8')
    const block = readme.split('<!-- registry-example')[1].split('```json')[1].split('```')[0]
    const json = repoRegistry()
    Object.assign(json.models, JSON.parse(block))
    const m = parseModelRegistry(json).get('qwen2.5-0.5b-instruct')
    expect(m).toMatchObject({ chatTemplate: 'chatml', dtype: 'fp16', useExternalDataFormat: false })
  })
})
