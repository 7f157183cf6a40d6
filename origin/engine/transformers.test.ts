// The transformers.js engine on the registry's brown-lm: it loads from the local folder with remote
// loading off, its logits cover the full vocabulary, and KV-cache decoding (token by token, or a
// prompt fed in slices) gives the logits of one full forward pass.
import { AutoModelForCausalLM, env } from '@huggingface/transformers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LoadedModel, loadTestModel } from '../test-support.ts'
import { loadTransformersEngine } from './transformers.ts'
import type { Engine } from './types.ts'

let loaded: LoadedModel
let sliced: Engine

beforeAll(async () => {
  loaded = await loadTestModel()
  // the same model with a 3-token prefill slice, so a short prompt crosses slice boundaries
  sliced = (await loadTestModel({ prefillChunkTokens: 3 })).engine
})
afterAll(async () => {
  await loaded?.engine.release()
  await sliced?.release()
})

const TEXT = 'The Fulton County Grand Jury said Friday an investigation of recent primary elections'

/** Largest |a − b| over entries finite in both; fails if −Infinity sits at different ids. */
function maxFiniteDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let max = 0
  for (let i = 0; i < a.length; i++) {
    const fa = Number.isFinite(a[i])
    if (fa !== Number.isFinite(b[i])) throw new Error(`id ${i}: ${a[i]} vs ${b[i]}`)
    if (fa) max = Math.max(max, Math.abs(a[i] - b[i]))
  }
  return max
}

describe('transformers.js engine', () => {
  it('loads the registry model from its local folder with remote loading disabled', async () => {
    const { engine, model } = loaded
    expect(engine.modelId).toBe('brown-lm')
    expect(engine.device).toBe('cpu')
    expect(engine.loadMs).toBeGreaterThan(0)
    expect(env.allowRemoteModels).toBe(false)
    expect(env.useFSCache).toBe(false)
    // a hub id is not fetched: with remote loading off it fails without touching the network
    await expect(
      AutoModelForCausalLM.from_pretrained('Qwen/Qwen3-0.6B', { dtype: 'fp32', device: 'cpu' }),
    ).rejects.toThrow()
    const logits = await engine.open().prefill(model.startIds)
    expect(logits.length).toBe(model.vocabSize)
    const finite = logits.filter(Number.isFinite).length
    // ids the model never saw get −∞; every id it can produce is finite
    expect(finite).toBeGreaterThan(1000)
    expect(finite).toBeLessThan(model.vocabSize)
  })

  it('KV-cache decoding gives the logits of a full forward pass, token by token', async () => {
    const { engine, model, tokenizer } = loaded
    const ids = [...model.startIds, ...tokenizer.encode(TEXT)]
    expect(ids.length).toBeLessThan(64) // one forward pass (the engine's prefill slice is 64)
    const full: Float32Array[] = []
    await engine.open().prefill(ids, (row) => full.push(row.slice()))
    expect(full.length).toBe(ids.length)

    const seq = engine.open()
    const rows = [await seq.prefill(ids.slice(0, 2))]
    for (const id of ids.slice(2)) rows.push(await seq.decode(id))
    expect(seq.length).toBe(ids.length)
    let worst = 0
    for (let i = 0; i < rows.length; i++) worst = Math.max(worst, maxFiniteDiff(rows[i], full[i + 1]))
    // the same float32 arithmetic over a cached vs recomputed K/V: ~1e-6 seen on logits of size ~1–10;
    // a wrong position, mask or cache entry moves them by ≥ 1e-2
    expect(worst).toBeLessThan(1e-4)
  })

  it('a prompt fed in slices through the cache matches one pass, row by row', async () => {
    const { engine, model, tokenizer } = loaded
    const ids = [...model.startIds, ...tokenizer.encode(TEXT)]
    const full: Float32Array[] = []
    const last = await engine.open().prefill(ids, (row) => full.push(row.slice()))
    const parts: Float32Array[] = []
    const slicedLast = await sliced.open().prefill(ids, (row) => parts.push(row.slice()))
    expect(parts.length).toBe(full.length)
    for (let i = 0; i < full.length; i++) expect(maxFiniteDiff(parts[i], full[i])).toBeLessThan(1e-4)
    expect(maxFiniteDiff(slicedLast, last)).toBeLessThan(1e-4)
    // and the rows really depend on the context (a cache bug could return the first row again)
    expect(maxFiniteDiff(full[1], full[ids.length - 1])).toBeGreaterThan(1e-2)
  })

  it('refuses an empty prefill and reports a model folder with missing files', async () => {
    await expect(loaded.engine.open().prefill([])).rejects.toThrow(/at least one token/)
    await expect(loadTransformersEngine(loaded.model, { dir: '/nonexistent/brown-lm' })).rejects.toThrow(
      /missing config\.json, generation_config\.json, onnx\/model\.onnx/,
    )
  })
})
