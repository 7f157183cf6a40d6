// Shared setup for the origin's tests and benchmark: the registry's brown-lm (or $WMLAB_MODEL_DIR
// during development) on the real engine, the real tokenizer and the WASM kernel, and a client that
// signs its requests the way the edge does.
import type { Hono } from 'hono'
import { loadTokenizer } from '../cli/tokenizers-node.ts'
import type { GenerateRequestInput, GenerateResult } from '../core/generation/protocol.ts'
import type { ScoringKernel } from '../core/kernel/types.ts'
import { signRequest } from '../core/keys/request-signing.ts'
import type { TextTokenizer } from '../core/tokenizers/registry.ts'
import { loadModelRegistry, type ModelSpec, modelDir } from '../models/registry.ts'
import { loadWasmKernel } from '../wasm/node.ts'
import { createOriginApp, type OriginDeps } from './app.ts'
import { originKernel } from './native-kernel.ts'
import { loadTransformersEngine } from './engine/transformers.ts'
import type { Engine } from './engine/types.ts'

export const TEST_MASTER_SECRET = 'test-master-secret-0123456789abcdef'
export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef'

export interface LoadedModel {
  model: ModelSpec
  tokenizer: TextTokenizer
  engine: Engine
  kernel: ScoringKernel
}

/** brown-lm from the registry on the transformers.js engine (throws if its files are missing). */
export async function loadTestModel(options: { prefillChunkTokens?: number } = {}): Promise<LoadedModel> {
  const model = loadModelRegistry().get('brown-lm')
  const [engine, kernel] = await Promise.all([
    loadTransformersEngine(model, { dir: modelDir(model), ...options }),
    loadWasmKernel().then((wasm) => originKernel(wasm)),
  ])
  return { model, tokenizer: loadTokenizer(model.tokenizer), engine, kernel }
}

export interface TestOrigin extends LoadedModel {
  app: Hono
  /** POSTs JSON (a string is sent as is), signed unless `signed: false`. */
  post(
    path: string,
    body: unknown,
    opts?: { signed?: boolean; headers?: Record<string, string> },
  ): Promise<Response>
  /** POST /v1/generate with JSON and returns the parsed body (throws on a non-200). */
  generate(request: GenerateRequestInput): Promise<GenerateResult>
}

/** An origin app over a loaded model that requires signatures, as in production. */
export function createTestOrigin(loaded: LoadedModel, overrides: Partial<OriginDeps> = {}): TestOrigin {
  const app = createOriginApp({
    model: loaded.model,
    tokenizer: loaded.tokenizer,
    engine: loaded.engine,
    kernel: loaded.kernel,
    masterSecret: TEST_MASTER_SECRET,
    signingSecret: TEST_SIGNING_SECRET,
    ...overrides,
  })
  const post: TestOrigin['post'] = async (path, body, opts = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    const signature = opts.signed === false ? {} : await signRequest(TEST_SIGNING_SECRET, 'POST', path, text)
    return app.request(`http://origin.test${path}`, {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'application/json', ...signature, ...opts.headers },
    })
  }
  return {
    ...loaded,
    app,
    post,
    async generate(request) {
      const res = await post('/v1/generate', request)
      if (res.status !== 200) throw new Error(`generate answered ${res.status}: ${await res.text()}`)
      return res.json()
    },
  }
}

/** Parses a text/event-stream body into its events (comments dropped). */
export function parseSse(text: string): Array<{ event: string; data: unknown }> {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const lines = block.split('\n')
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message'
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n')
      return { event, data: JSON.parse(data) }
    })
}

/** Polls `check` every 20 ms until it holds (throws after `timeoutMs`). */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}
