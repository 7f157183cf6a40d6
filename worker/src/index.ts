// Cloudflare Workers entry: builds the app's adapters from the environment. The WASM kernel and
// tokenizers load once per isolate (module scope), never per request.
import kernelModule from '../../wasm/build/kernel.wasm'
import type { ScoringKernel } from '../../core/kernel/types.ts'
import { createTokenizer, getTokenizerSpec, type TextTokenizer } from '../../core/tokenizers/registry.ts'
import { createWasmKernel } from '../../wasm/kernel.ts'
import type { ExecutionContext } from 'hono'
import { createApp } from './app.ts'
import { MemoryCache } from './memory-cache.ts'
import { MemoryStore, type Store } from './store.ts'

export interface Env {
  WATERMARK_MASTER_SECRET: string
  ADMIN_TOKEN?: string
  /** tokenizer.json / tokenizer_config.json as text bindings, e.g. TOKENIZER_QWEN3_JSON (tests). */
  [binding: string]: unknown
}

let kernel: Promise<ScoringKernel> | undefined
const tokenizers = new Map<string, Promise<TextTokenizer>>()
// Isolate-local fallbacks until the Postgres/Upstash adapters are configured (dev only).
const memoryStore = new MemoryStore()
const memoryCache = new MemoryCache()

async function loadTokenizer(env: Env, id: string): Promise<TextTokenizer> {
  const spec = getTokenizerSpec(id)
  const json = env[`TOKENIZER_${id.toUpperCase()}_JSON`]
  const config = env[`TOKENIZER_${id.toUpperCase()}_CONFIG`]
  if (typeof json === 'string' && typeof config === 'string')
    return createTokenizer(spec, JSON.parse(json), JSON.parse(config))
  const assets = await import('./tokenizer-assets.ts')
  const files = await assets.tokenizerFiles(id)
  return createTokenizer(spec, files.tokenizer, files.config)
}

export function depsFor(env: Env) {
  const store: Store = memoryStore
  return {
    store,
    cache: memoryCache,
    tokenizer: (id: string) => {
      let t = tokenizers.get(id)
      if (!t) {
        t = loadTokenizer(env, id)
        tokenizers.set(id, t)
        t.catch(() => tokenizers.delete(id))
      }
      return t
    },
    kernel: () => {
      kernel ??= createWasmKernel(kernelModule)
      return kernel
    },
    masterSecret: env.WATERMARK_MASTER_SECRET,
    revokedGraceSeconds: 7 * 24 * 3600,
    maxTokens: 16_384,
    adminToken: env.ADMIN_TOKEN ?? null,
    maxBodyBytes: 1024 * 1024,
    checks: { cache: () => memoryCache.get('health') },
  }
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return createApp(depsFor(env)).fetch(request, env, ctx)
  },
}
