// Watermark schemes for requests: the key id travels, the material is derived here with the same
// HKDF as the edge (core/keys/watermark-key.ts). Keyed schemes are cached (deriving and building a
// SynthID key set per request would cost more than a decoding step).
import { ZodError } from 'zod'
import type { WatermarkSpec } from '../core/generation/protocol.ts'
import type { ScoringKernel } from '../core/kernel/types.ts'
import { keyedScheme } from '../core/keys/watermark-key.ts'
import { UnknownSchemeError } from '../core/schemes/registry.ts'
import type { WatermarkScheme } from '../core/schemes/types.ts'
import { ApiError, ERROR_CODES } from './errors.ts'

const CACHE_ENTRIES = 64

export type WatermarkResolver = (spec: WatermarkSpec) => Promise<WatermarkScheme>

/** Params that are ours to set: a request cannot choose the key or the vocabulary. */
const RESERVED_PARAMS = new Set(['key', 'hashKey', 'vocabSize'])

function describeIssues(err: ZodError): string {
  return err.issues
    .filter((i) => !RESERVED_PARAMS.has(String(i.path[0])))
    .map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`)
    .join('; ')
}

/**
 * A resolver keyed by the shared master secret; rejects unknown schemes and invalid params with a
 * 400 ApiError whose message names the field, never the key.
 *
 * @example
 * const resolve = createWatermarkResolver(masterSecret, 151936, await loadWasmKernel())
 * const scheme = await resolve({ keyId: 'wk_1', scheme: 'kgw-lefthash', params: {} })
 */
export function createWatermarkResolver(
  masterSecret: string,
  vocabSize: number,
  kernel?: ScoringKernel,
): WatermarkResolver {
  if (masterSecret.length < 16) throw new Error('WATERMARK_MASTER_SECRET must be at least 16 characters')
  const cache = new Map<string, Promise<WatermarkScheme>>()
  return async (spec) => {
    const reserved = Object.keys(spec.params).filter((k) => RESERVED_PARAMS.has(k))
    if (reserved.length > 0)
      throw new ApiError(
        400,
        ERROR_CODES.invalidWatermarkParams,
        `watermark.params may not set ${reserved.join(', ')}: the key comes from the key id and the vocabulary from the model`,
      )
    const cacheKey = JSON.stringify([spec.keyId, spec.scheme, Object.entries(spec.params).sort()])
    let scheme = cache.get(cacheKey)
    if (!scheme) {
      scheme = keyedScheme(masterSecret, spec, vocabSize, kernel ? { kernel } : {})
      cache.set(cacheKey, scheme)
      scheme.catch(() => cache.delete(cacheKey))
      if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!)
    }
    try {
      return await scheme
    } catch (err) {
      if (err instanceof UnknownSchemeError) throw new ApiError(400, ERROR_CODES.unknownScheme, err.message)
      const detail = err instanceof ZodError ? describeIssues(err) : ''
      throw new ApiError(
        400,
        ERROR_CODES.invalidWatermarkParams,
        `invalid params for scheme "${spec.scheme}"${detail ? `: ${detail}` : ''}`,
      )
    }
  }
}
