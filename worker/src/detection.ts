// Detection for a tenant: resolve keys, normalise and tokenise once per tokenizer, score with the
// core (WASM kernel), correct for the keys tried, cache the result.
import { keyedScheme } from '../../core/keys/watermark-key.ts'
import type { ScoringKernel } from '../../core/kernel/types.ts'
import { detectWithKeys, type KeyedScheme } from '../../core/schemes/multi-key.ts'
import type { DetectionResult, WatermarkScheme } from '../../core/schemes/types.ts'
import { normalizeWithReport } from '../../core/text/normalize.ts'
import type { TextTokenizer } from '../../core/tokenizers/registry.ts'
import { auditBuffer } from './audit-buffer.ts'
import { ApiError } from './errors.ts'
import { newId, sha256Hex } from './keys.ts'
import { memoised, TtlMap } from './memo.ts'
import { recordCacheLookup, recordDetection } from './metrics/index.ts'
import { withSpan } from './metrics/trace.ts'
import type { Store, Tenant, WatermarkKeyRecord } from './store.ts'

/**
 * A tenant's key list, per isolate, for 10 s: detection ("auto" or a listed key id) needs no database
 * round trip on the hot path. Key writes in this isolate invalidate it at once (forgetTenantKeys);
 * other isolates see a revoked key within the TTL (plus one refresh), a new one at once (read by id).
 */
const tenantKeys = new TtlMap<WatermarkKeyRecord[]>(10_000)
export const forgetTenantKeys = (tenantId: string) => tenantKeys.delete(tenantId)

export interface ResultCache {
  get(key: string): Promise<string | null>
  set(key: string, value: string, ttlSeconds: number): Promise<void>
}

export interface DetectionDeps {
  cache: ResultCache
  tokenizer(id: string): Promise<TextTokenizer>
  kernel(): Promise<ScoringKernel>
  masterSecret: string
  /** Revoked keys stay detectable this long. */
  revokedGraceSeconds: number
  maxTokens: number
}

export interface DetectInput {
  text?: string
  tokens?: number[]
  keyId?: string
  options: { dedup: boolean; perToken: boolean; windowed: boolean; normalize: boolean }
}

export interface DetectOutput extends DetectionResult {
  keyId: string
  keysTried: number
  cache: 'hit' | 'miss'
  normalization?: { removedInvisible: number; foldedHomoglyphs: number }
}

/**
 * What a verdict-only tenant sees (tenants.detection_detail, docs/security.md): the decision and what
 * it was about, without the p-value, statistic, per-token scores or windows that make each query a
 * better oracle for learning a key.
 */
export function verdictOnly(out: DetectOutput) {
  const { scheme, keyId, keysTried, tokens, watermarked, cache } = out
  return { scheme, keyId, keysTried, tokens, watermarked, cache, detail: 'verdict' as const }
}

/**
 * Built schemes per isolate (and per deps: apps with other master secrets never share), by key id.
 * Deriving the key material (HKDF) and building the scheme costs up to ≈ 17 ms for the presets with
 * tables (hf-selfhash's 1,000,003-entry hash table, MarkLLM's and Unigram's permutations of V), every
 * request otherwise. A key's scheme never changes (rotation makes a new key id), so entries need no
 * invalidation; the small bound keeps table-heavy schemes (≈ 4 MB each) from piling up.
 */
const builtSchemes = new WeakMap<DetectionDeps, TtlMap<WatermarkScheme>>()

export async function buildScheme(
  deps: DetectionDeps,
  rec: WatermarkKeyRecord,
  tok: TextTokenizer,
  kernel?: ScoringKernel,
): Promise<WatermarkScheme> {
  let built = builtSchemes.get(deps)
  if (!built) {
    built = new TtlMap<WatermarkScheme>(10 * 60_000, 16)
    builtSchemes.set(deps, built)
  }
  const id = `${rec.id}|${tok.logitsSize}|${kernel?.name ?? 'js'}`
  const hit = built.get(id)
  if (hit) return hit
  const scheme = await keyedScheme(
    deps.masterSecret,
    { keyId: rec.id, scheme: rec.scheme, params: rec.params },
    tok.logitsSize,
    { kernel },
  )
  built.set(id, scheme)
  return scheme
}

function usable(rec: WatermarkKeyRecord, graceSeconds: number, now = Date.now()): boolean {
  if (rec.status === 'active') return true
  return rec.revokedAt !== null && now - Date.parse(rec.revokedAt) <= graceSeconds * 1000
}

async function keysFor(
  deps: DetectionDeps,
  store: Store,
  tenant: Tenant,
  keyId: string | undefined,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<WatermarkKeyRecord[]> {
  const listed = () => memoised(tenantKeys, tenant.id, () => store.listKeys(tenant.id), waitUntil)
  if (keyId && keyId !== 'auto') {
    // The tenant's memoised key list first (the same staleness as "auto"); a key made in another
    // isolate since is read from the database.
    const rec = (await listed()).find((k) => k.id === keyId) ?? (await store.getKey(tenant.id, keyId))
    if (!rec) throw new ApiError(404, 'key_not_found', `no watermark key "${keyId}" for this tenant`)
    if (!usable(rec, deps.revokedGraceSeconds))
      throw new ApiError(410, 'key_revoked', `key "${keyId}" was revoked`)
    return [rec]
  }
  const all = (await listed()).filter((k) => usable(k, deps.revokedGraceSeconds))
  if (all.length === 0)
    throw new ApiError(
      422,
      'no_active_keys',
      'this tenant has no active watermark key; create one with POST /v1/keys',
    )
  return all
}

/**
 * `admission` (the rate limiters' verdict, a rejection being the 429) is awaited together with the
 * result-cache lookup, and always before any tokenising or scoring.
 */
export function detect(
  deps: DetectionDeps,
  store: Store,
  tenant: Tenant,
  input: DetectInput,
  waitUntil: (p: Promise<unknown>) => void,
  admission: Promise<void> = Promise.resolve(),
): Promise<DetectOutput> {
  return withSpan('watermark.detect', { 'wmlab.tenant_id': tenant.id }, async (span) => {
    // A limited client gets its 429 whatever else is wrong with the request.
    const out = await runDetection(deps, store, tenant, input, waitUntil, admission).catch(async (e) => {
      await admission
      throw e
    })
    span.setAttributes({
      'wmlab.scheme': out.scheme,
      'wmlab.key_id': out.keyId,
      'wmlab.watermarked': out.watermarked,
      'wmlab.cache': out.cache,
      'wmlab.tokens': out.tokens,
    })
    return out
  })
}

async function runDetection(
  deps: DetectionDeps,
  store: Store,
  tenant: Tenant,
  input: DetectInput,
  waitUntil: (p: Promise<unknown>) => void,
  admission: Promise<void>,
): Promise<DetectOutput> {
  // An explicit key id may cost a database read (one not in the memoised list): a limited client must
  // not get that far. "auto" reads the tenant's key list from the isolate's memo, so it overlaps with
  // the limiters.
  if (input.keyId && input.keyId !== 'auto') await admission
  const keys = await withSpan('db.watermark_keys', { 'db.system': 'postgresql' }, () =>
    keysFor(deps, store, tenant, input.keyId, waitUntil),
  )
  let text = input.text
  let normalization: DetectOutput['normalization']
  if (text !== undefined && input.options.normalize) {
    const r = normalizeWithReport(text)
    text = r.text
    normalization = { removedInvisible: r.removedInvisible, foldedHomoglyphs: r.foldedHomoglyphs }
  }
  if (text !== undefined && text.trim() === '')
    throw new ApiError(422, 'empty_text', 'text is empty after normalisation')
  if (input.tokens !== undefined && input.tokens.length === 0)
    throw new ApiError(422, 'empty_text', 'tokens is empty')

  const opts = input.options
  const cacheKey = `det:v1:${await sha256Hex(JSON.stringify([text ?? input.tokens, keys.map((k) => [k.id, k.status]), opts]))}`
  // A cache outage must not fail detection.
  const lookup = withSpan('cache.get', { 'db.system': 'redis' }, (span) =>
    deps.cache.get(cacheKey).then(
      (v) => {
        span.setAttribute('wmlab.cache_hit', v !== null)
        return v
      },
      () => null,
    ),
  )
  const [hit] = await Promise.all([lookup, admission])
  recordCacheLookup(!!hit)
  if (hit) {
    const cached: DetectOutput = { ...(JSON.parse(hit) as DetectOutput), cache: 'hit' }
    recordDetection(cached.scheme, cached.watermarked, cached.logPValue)
    return cached
  }

  const kernel = await deps.kernel()
  const tokensByTokenizer = new Map<string, { tok: TextTokenizer; ids: Int32Array }>()
  const candidates: KeyedScheme[] = []
  for (const rec of keys) {
    let entry = tokensByTokenizer.get(rec.tokenizer)
    if (!entry) {
      const tok = await deps.tokenizer(rec.tokenizer)
      const ids = text !== undefined ? tok.encode(text) : Int32Array.from(input.tokens!)
      if (ids.length > deps.maxTokens) {
        throw new ApiError(
          413,
          'too_many_tokens',
          `the text has ${ids.length} tokens; the limit is ${deps.maxTokens}`,
        )
      }
      entry = { tok, ids }
      tokensByTokenizer.set(rec.tokenizer, entry)
    }
    candidates.push({
      keyId: rec.id,
      scheme: await buildScheme(deps, rec, entry.tok, kernel),
      tokens: entry.ids,
    })
  }
  const all = detectWithKeys(candidates, [], opts)
  const best = all.best
  const { tok, ids } = tokensByTokenizer.get(keys.find((k) => k.id === best.keyId)!.tokenizer)!
  if (best.perToken) {
    const texts = tok.tokenTexts(ids)
    best.perToken.forEach((t, i) => {
      t.text = texts[i]
    })
  }
  const {
    rawPValue: _p,
    rawLogPValue: _l,
    ...result
  } = best as typeof best & { rawPValue?: number; rawLogPValue?: number }
  const out: DetectOutput = {
    ...result,
    keyId: best.keyId!,
    keysTried: all.keysTried,
    cache: 'miss',
    ...(normalization ? { normalization } : {}),
  }
  recordDetection(out.scheme, out.watermarked, out.logPValue)
  waitUntil(
    withSpan('cache.set', { 'db.system': 'redis' }, () =>
      deps.cache.set(cacheKey, JSON.stringify(out), 3600),
    ).catch(() => undefined),
  )
  const record = {
    id: newId('dt'),
    tenantId: tenant.id,
    keyId: out.keyId,
    scheme: out.scheme,
    textSha256: await sha256Hex(text ?? JSON.stringify(input.tokens)),
    text: tenant.storeText && text !== undefined ? text : null,
    tokens: out.tokens,
    scored: out.scored,
    pValue: out.pValue,
    watermarked: out.watermarked,
  }
  // Retried; parked in the isolate if the database is down, written by a later request (audit-buffer.ts).
  waitUntil(
    withSpan('db.insert_detection', { 'db.system': 'postgresql' }, () =>
      auditBuffer.write(store, { kind: 'detection', row: record }),
    ),
  )
  return out
}
