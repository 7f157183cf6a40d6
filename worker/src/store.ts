// The worker's view of persistent state. Routes depend on this interface; adapters implement it
// (Postgres through the Neon driver in production, in-memory for unit tests and quick local runs).
import { newApiKey, sha256Hex } from './keys.ts'

export interface Tenant {
  id: string
  name: string
  storeText: boolean
  /** 'verdict': detection answers carry the verdict only, for tenants not trusted with more. */
  detectionDetail: 'full' | 'verdict'
}

export interface WatermarkKeyRecord {
  id: string
  tenantId: string
  scheme: string
  /** Scheme parameters (never key material). */
  params: Record<string, unknown>
  tokenizer: string
  status: 'active' | 'revoked'
  createdAt: string
  revokedAt: string | null
}

export interface DetectionRecord {
  /** Chosen by the caller so a retried write cannot insert twice. */
  id: string
  tenantId: string
  keyId: string | null
  scheme: string
  textSha256: string
  text: string | null
  tokens: number
  scored: number
  pValue: number
  watermarked: boolean
}

/** One generation through the origin, successful or not (the audit row of POST /v1/generate & co.). */
export interface GenerationRecord {
  /** Chosen by the edge (also the response id), so a retried write cannot insert twice. */
  id: string
  tenantId: string
  /** Null for unwatermarked generation (keyId "none"). */
  keyId: string | null
  scheme: string | null
  /** The origin's model id; null when the origin never answered. */
  model: string | null
  endpoint: 'generate' | 'chat.completions' | 'completions'
  stream: boolean
  promptTokens: number | null
  completionTokens: number
  latencyMs: number
  firstTokenMs: number | null
  finishReason: 'stop' | 'length' | 'eos' | null
  outcome: 'success' | 'error' | 'timeout' | 'unavailable' | 'busy' | 'cut' | 'cancelled' | 'rejected'
  /** The error code clients saw, for outcomes other than success. */
  errorCode: string | null
  /** The generated text, only if the tenant opted in (tenants.store_text); the prompt is never kept. */
  text: string | null
}

export interface Store {
  /**
   * Resolves an API key hash to its tenant as that key sees it (detectionDetail: the key's where it sets
   * one, else the tenant's); null when unknown or revoked.
   */
  tenantForApiKeyHash(hash: string): Promise<Tenant | null>
  createTenant(
    name: string,
    storeText?: boolean,
    detectionDetail?: Tenant['detectionDetail'],
  ): Promise<Tenant>
  /**
   * Creates an API key of the tenant (null: no such tenant): the plaintext is returned once and only its
   * SHA-256 is stored; `detectionDetail` overrides the tenant's for this key.
   */
  createApiKey(
    tenantId: string,
    options?: { detectionDetail?: Tenant['detectionDetail'] },
  ): Promise<{ id: string; key: string } | null>
  createKey(
    rec: Omit<WatermarkKeyRecord, 'id' | 'createdAt' | 'revokedAt' | 'status'> & { id: string },
  ): Promise<WatermarkKeyRecord>
  listKeys(tenantId: string): Promise<WatermarkKeyRecord[]>
  getKey(tenantId: string, keyId: string): Promise<WatermarkKeyRecord | null>
  revokeKey(tenantId: string, keyId: string): Promise<WatermarkKeyRecord | null>
  /**
   * Revokes an active key and creates its successor (same scheme, params, tokenizer) in one step:
   * null when the tenant has no such key, 'already_revoked' when it is not active. Two concurrent
   * rotations of one key create one successor.
   */
  rotateKey(
    tenantId: string,
    keyId: string,
    successorId: string,
  ): Promise<WatermarkKeyRecord | null | 'already_revoked'>
  insertDetection(rec: DetectionRecord): Promise<void>
  recordGeneration(rec: GenerationRecord): Promise<void>
  /** Releases per-request resources (the Postgres pool); called after the response via waitUntil. */
  close(): Promise<void>
}

/** In-memory Store: same semantics as the Postgres adapter, every lookup tenant-scoped. */
export class MemoryStore implements Store {
  private readonly tenants = new Map<string, Tenant>()
  private readonly apiKeys = new Map<
    string,
    { id: string; tenantId: string; detectionDetail?: Tenant['detectionDetail'] }
  >()
  private readonly keys = new Map<string, WatermarkKeyRecord>()
  readonly detections: DetectionRecord[] = []
  readonly generations: GenerationRecord[] = []
  private seq = 0

  async tenantForApiKeyHash(hash: string) {
    const k = this.apiKeys.get(hash)
    const tenant = k ? this.tenants.get(k.tenantId) : undefined
    if (!k || !tenant) return null
    return k.detectionDetail ? { ...tenant, detectionDetail: k.detectionDetail } : tenant
  }
  async createTenant(name: string, storeText = false, detectionDetail: Tenant['detectionDetail'] = 'full') {
    const t = { id: `tn_${++this.seq}`, name, storeText, detectionDetail }
    this.tenants.set(t.id, t)
    return t
  }
  async createApiKey(tenantId: string, options: { detectionDetail?: Tenant['detectionDetail'] } = {}) {
    if (!this.tenants.has(tenantId)) return null
    const id = `ak_${++this.seq}`
    const key = newApiKey()
    this.apiKeys.set(await sha256Hex(key), { id, tenantId, detectionDetail: options.detectionDetail })
    return { id, key }
  }
  async createKey(rec: Parameters<Store['createKey']>[0]) {
    const full: WatermarkKeyRecord = {
      ...rec,
      status: 'active',
      createdAt: new Date().toISOString(),
      revokedAt: null,
    }
    this.keys.set(rec.id, full)
    return full
  }
  async listKeys(tenantId: string) {
    return [...this.keys.values()].filter((k) => k.tenantId === tenantId)
  }
  async getKey(tenantId: string, keyId: string) {
    const k = this.keys.get(keyId)
    return k && k.tenantId === tenantId ? k : null
  }
  async revokeKey(tenantId: string, keyId: string) {
    const k = await this.getKey(tenantId, keyId)
    if (!k) return null
    if (k.status === 'active') Object.assign(k, { status: 'revoked', revokedAt: new Date().toISOString() })
    return k
  }
  async rotateKey(tenantId: string, keyId: string, successorId: string) {
    const old = await this.getKey(tenantId, keyId)
    if (!old) return null
    if (old.status !== 'active') return 'already_revoked' as const
    await this.revokeKey(tenantId, keyId)
    return this.createKey({
      id: successorId,
      tenantId,
      scheme: old.scheme,
      params: old.params,
      tokenizer: old.tokenizer,
    })
  }
  async insertDetection(rec: DetectionRecord) {
    this.detections.push(rec)
  }
  async recordGeneration(rec: GenerationRecord) {
    if (this.generations.some((g) => g.id === rec.id)) return
    const tenant = this.tenants.get(rec.tenantId)
    this.generations.push({ ...rec, text: tenant?.storeText ? rec.text : null })
  }
  async close() {}
}
