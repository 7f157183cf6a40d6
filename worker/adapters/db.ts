// Typed Postgres store for the Worker over @neondatabase/serverless's Pool. In Workers a Pool cannot
// outlive its request (its sockets belong to that request), so openStore() makes one per request and
// close() hands pool.end() to ctx.waitUntil. Every query below api_keys filters by tenant id.
import { Pool } from '@neondatabase/serverless'
import { newId, sha256Hex } from '../../core/keys/hex.ts'

export interface SqlClient {
  query(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount?: number | null }>
  release(err?: Error | boolean): void
}
/** Any node-postgres-compatible pool: Neon's Pool in the Worker, `pg` in Node tools. */
export interface SqlPool {
  query(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount?: number | null }>
  connect(): Promise<SqlClient>
  end(): Promise<void>
}

export interface Tenant {
  id: string
  name: string
  storeText: boolean
  /** 'verdict': detection answers carry the verdict only (docs/security.md). */
  detectionDetail: 'full' | 'verdict'
  createdAt: string
}

export interface ApiKeyRecord {
  id: string
  tenantId: string
  prefix: string
  name: string | null
  createdAt: string
  revokedAt: string | null
  /** This key's detection detail; null: its tenant's. */
  detectionDetail: 'full' | 'verdict' | null
}

export type WatermarkKeyStatus = 'active' | 'revoked'

export interface WatermarkKey {
  id: string
  tenantId: string
  scheme: string
  params: Record<string, unknown>
  tokenizer: string | null
  status: WatermarkKeyStatus
  createdAt: string
  revokedAt: string | null
  /** For revoked keys: detection still accepts the key until then (grace period). */
  detectableUntil: string | null
  rotatedFrom: string | null
}

export interface DetectionRecord {
  /** Caller-chosen (newId('dt')), so a retried write cannot insert twice. */
  id: string
  keyId: string | null
  /** Lower-case hex SHA-256 of the normalised text. */
  textHash: string
  /** Stored only if the tenant opted in (tenants.store_text); dropped otherwise. */
  text?: string | null
  scheme: string
  pValue: number
  logPValue?: number | null
  tokens: number
  scored: number
  watermarked: boolean
}

export interface StoredDetection extends DetectionRecord {
  tenantId: string
  text: string | null
  createdAt: string
}

export interface GenerationRow {
  /** Caller-chosen (the response id), so a retried write cannot insert twice. */
  id: string
  keyId: string | null
  scheme: string | null
  model: string | null
  endpoint: string
  stream: boolean
  promptTokens: number | null
  completionTokens: number
  latencyMs: number
  firstTokenMs: number | null
  finishReason: string | null
  outcome: string
  errorCode: string | null
  /** Stored only if the tenant opted in (tenants.store_text); dropped otherwise. */
  text: string | null
}

export interface StoredGeneration extends GenerationRow {
  tenantId: string
  createdAt: string
}

export type StoreErrorCode = 'not_found' | 'conflict'

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'StoreError'
  }
}

// Same rule as the tables' CHECK constraints. Ids come from URLs: a malformed one is "not found" here,
// not a constraint error (a 500).
const ID = /^[A-Za-z0-9_-]{1,64}$/
const isId = (id: unknown): id is string => typeof id === 'string' && ID.test(id)
/** Postgres text cannot hold U+0000: free text (user text, model names) is stored with NUL as U+FFFD. */
const pgText = (s: string | null | undefined): string | null =>
  s === null || s === undefined ? null : s.replaceAll('\u0000', '\uFFFD')

export { newId, sha256Hex }

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v))
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v))

export const API_KEY_PREFIX = 'wml_'
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 8

/** A fresh API key: `wml_` + 32 bytes of randomness, base64url. */
export function generateApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  const b64 = btoa(String.fromCharCode(...bytes))
  return API_KEY_PREFIX + b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

const TENANT_COLUMNS = 'id, name, store_text, detection_detail, created_at'
const API_KEY_COLUMNS = 'id, tenant_id, prefix, name, created_at, revoked_at, detection_detail'
const WM_COLUMNS =
  'id, tenant_id, scheme, params, tokenizer, status, created_at, revoked_at, detectable_until, rotated_from'

function tenantRow(r: Record<string, unknown>): Tenant {
  return {
    id: String(r.id),
    name: String(r.name),
    storeText: r.store_text === true,
    detectionDetail: r.detection_detail === 'verdict' ? 'verdict' : 'full',
    createdAt: iso(r.created_at),
  }
}

function apiKeyRow(r: Record<string, unknown>): ApiKeyRecord {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    prefix: String(r.prefix),
    name: r.name === null ? null : String(r.name),
    createdAt: iso(r.created_at),
    revokedAt: isoOrNull(r.revoked_at),
    detectionDetail:
      r.detection_detail === 'verdict' || r.detection_detail === 'full' ? r.detection_detail : null,
  }
}

function wmRow(r: Record<string, unknown>): WatermarkKey {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    scheme: String(r.scheme),
    params: (r.params ?? {}) as Record<string, unknown>,
    tokenizer: r.tokenizer === null ? null : String(r.tokenizer),
    status: r.status as WatermarkKeyStatus,
    createdAt: iso(r.created_at),
    revokedAt: isoOrNull(r.revoked_at),
    detectableUntil: isoOrNull(r.detectable_until),
    rotatedFrom: r.rotated_from === null ? null : String(r.rotated_from),
  }
}

function detectionRow(r: Record<string, unknown>): StoredDetection {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    keyId: r.key_id === null ? null : String(r.key_id),
    textHash: String(r.text_hash),
    text: r.text === null ? null : String(r.text),
    scheme: String(r.scheme),
    pValue: Number(r.p_value),
    logPValue: r.log_p_value === null ? null : Number(r.log_p_value),
    tokens: Number(r.tokens),
    scored: Number(r.scored),
    watermarked: r.watermarked === true,
    createdAt: iso(r.created_at),
  }
}

const GENERATION_COLUMNS = `id, tenant_id, key_id, scheme, model, endpoint, stream, prompt_tokens,
  completion_tokens, latency_ms, first_token_ms, finish_reason, outcome, error_code, text, created_at`
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

function generationRow(r: Record<string, unknown>): StoredGeneration {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    keyId: strOrNull(r.key_id),
    scheme: strOrNull(r.scheme),
    model: strOrNull(r.model),
    endpoint: String(r.endpoint),
    stream: r.stream === true,
    promptTokens: numOrNull(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    latencyMs: Number(r.latency_ms),
    firstTokenMs: numOrNull(r.first_token_ms),
    finishReason: strOrNull(r.finish_reason),
    outcome: String(r.outcome),
    errorCode: strOrNull(r.error_code),
    text: strOrNull(r.text),
    createdAt: iso(r.created_at),
  }
}

export interface Store {
  /** Round trip to the database; resolves to the latency in ms (for /health). */
  ping(): Promise<number>
  createTenant(input: {
    name: string
    storeText?: boolean
    detectionDetail?: 'full' | 'verdict'
    id?: string
  }): Promise<Tenant>
  getTenant(tenantId: string): Promise<Tenant | null>
  /** Returns the plaintext key once; only its SHA-256 is stored. */
  createApiKey(
    tenantId: string,
    input?: { name?: string; detectionDetail?: 'full' | 'verdict' },
  ): Promise<{ key: string; apiKey: ApiKeyRecord }>
  /**
   * An unrevoked key and its tenant, by the SHA-256 hex of the presented key. The tenant is as this key
   * sees it: its detectionDetail is the key's where the key sets one.
   */
  findApiKeyByHash(keyHash: string): Promise<{ apiKey: ApiKeyRecord; tenant: Tenant } | null>
  revokeApiKey(tenantId: string, apiKeyId: string): Promise<boolean>
  createWatermarkKey(
    tenantId: string,
    input: { scheme: string; params?: Record<string, unknown>; tokenizer?: string | null; id?: string },
  ): Promise<WatermarkKey>
  listWatermarkKeys(tenantId: string, filter?: { status?: WatermarkKeyStatus }): Promise<WatermarkKey[]>
  /** Active keys plus revoked keys still inside their grace period: what "auto" detection tries. */
  listDetectableKeys(tenantId: string): Promise<WatermarkKey[]>
  getWatermarkKey(tenantId: string, keyId: string): Promise<WatermarkKey | null>
  /** Null when the tenant has no such key; revoking a revoked key returns it unchanged. */
  revokeWatermarkKey(
    tenantId: string,
    keyId: string,
    options: { graceSeconds: number },
  ): Promise<WatermarkKey | null>
  /**
   * Atomically revokes `keyId` (detectable for the grace period) and creates its successor with the same
   * scheme and, unless given, the same params. Throws StoreError not_found / conflict (already revoked).
   */
  rotateWatermarkKey(
    tenantId: string,
    keyId: string,
    options: { graceSeconds: number; params?: Record<string, unknown>; newId?: string },
  ): Promise<{ revoked: WatermarkKey; created: WatermarkKey }>
  /** Idempotent on record.id; false when it was already there. Text is kept only if the tenant opted in. */
  insertDetection(tenantId: string, record: DetectionRecord): Promise<boolean>
  listDetections(tenantId: string, options?: { limit?: number }): Promise<StoredDetection[]>
  /** Idempotent on row.id; false when it was already there. Text is kept only if the tenant opted in. */
  insertGeneration(tenantId: string, row: GenerationRow): Promise<boolean>
  listGenerations(tenantId: string, options?: { limit?: number }): Promise<StoredGeneration[]>
  /** Ends the pool: handed to waitUntil when the store has one, and returned either way. */
  close(): Promise<void>
}

/** A store over an existing pool (tests, Node tools). `close()` ends that pool. */
export function createStore(
  pool: SqlPool,
  options: { waitUntil?: (p: Promise<unknown>) => void } = {},
): Store {
  let closing: Promise<void> | undefined

  async function inTransaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    const client = await pool.connect()
    let failed: Error | undefined
    try {
      await client.query('BEGIN')
      const out = await fn(client)
      await client.query('COMMIT')
      return out
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        failed = e // the connection is in an unknown state: do not return it to the pool
      })
      throw err
    } finally {
      client.release(failed)
    }
  }

  const q = (text: string, params: unknown[] = []) => pool.query(text, params)

  const store: Store = {
    async ping() {
      const start = performance.now()
      await q('SELECT 1')
      return performance.now() - start
    },

    async createTenant({ name, storeText = false, detectionDetail = 'full', id = newId('tn') }) {
      const { rows } = await q(
        `INSERT INTO tenants (id, name, store_text, detection_detail) VALUES ($1, $2, $3, $4)
         RETURNING ${TENANT_COLUMNS}`,
        [id, name, storeText, detectionDetail],
      )
      return tenantRow(rows[0])
    },

    async getTenant(tenantId) {
      if (!isId(tenantId)) return null
      const { rows } = await q(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = $1`, [tenantId])
      return rows.length > 0 ? tenantRow(rows[0]) : null
    },

    async createApiKey(tenantId, input = {}) {
      if (!isId(tenantId)) throw new StoreError('not_found', 'tenant not found')
      const key = generateApiKey()
      const { rows } = await q(
        `INSERT INTO api_keys (id, tenant_id, key_hash, prefix, name, detection_detail)
         SELECT $5, id, $2, $3, $4, $6 FROM tenants WHERE id = $1
         RETURNING ${API_KEY_COLUMNS}`,
        [
          tenantId,
          await sha256Hex(key),
          key.slice(0, DISPLAY_PREFIX_LENGTH),
          input.name ?? null,
          newId('ak'),
          input.detectionDetail ?? null,
        ],
      )
      if (rows.length === 0) throw new StoreError('not_found', 'tenant not found')
      return { key, apiKey: apiKeyRow(rows[0]) }
    },

    async findApiKeyByHash(keyHash) {
      if (!/^[0-9a-f]{64}$/.test(keyHash)) return null
      const { rows } = await q(
        `SELECT k.id, k.tenant_id, k.prefix, k.name, k.created_at, k.revoked_at, k.detection_detail,
                t.name AS tenant_name, t.store_text, t.detection_detail AS tenant_detection_detail,
                t.created_at AS tenant_created_at
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
        [keyHash],
      )
      if (rows.length === 0) return null
      const r = rows[0]
      return {
        apiKey: apiKeyRow(r),
        tenant: tenantRow({
          id: r.tenant_id,
          name: r.tenant_name,
          store_text: r.store_text,
          detection_detail: r.detection_detail ?? r.tenant_detection_detail,
          created_at: r.tenant_created_at,
        }),
      }
    },

    async revokeApiKey(tenantId, apiKeyId) {
      if (!isId(tenantId) || !isId(apiKeyId)) return false
      const { rows } = await q(
        `UPDATE api_keys SET revoked_at = now()
         WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL RETURNING id`,
        [apiKeyId, tenantId],
      )
      return rows.length > 0
    },

    async createWatermarkKey(tenantId, { scheme, params = {}, tokenizer = null, id = newId('wk') }) {
      if (!isId(tenantId)) throw new StoreError('not_found', 'tenant not found')
      const { rows } = await q(
        `INSERT INTO watermark_keys (id, tenant_id, scheme, params, tokenizer)
         SELECT $4, id, $2, $3::jsonb, $5 FROM tenants WHERE id = $1
         RETURNING ${WM_COLUMNS}`,
        [tenantId, scheme, JSON.stringify(params), id, tokenizer],
      )
      if (rows.length === 0) throw new StoreError('not_found', 'tenant not found')
      return wmRow(rows[0])
    },

    async listWatermarkKeys(tenantId, filter = {}) {
      if (!isId(tenantId)) return []
      const { rows } = await q(
        `SELECT ${WM_COLUMNS} FROM watermark_keys
         WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2)
         ORDER BY created_at, id`,
        [tenantId, filter.status ?? null],
      )
      return rows.map(wmRow)
    },

    async listDetectableKeys(tenantId) {
      if (!isId(tenantId)) return []
      const { rows } = await q(
        `SELECT ${WM_COLUMNS} FROM watermark_keys
         WHERE tenant_id = $1 AND (status = 'active' OR detectable_until > now())
         ORDER BY created_at, id`,
        [tenantId],
      )
      return rows.map(wmRow)
    },

    async getWatermarkKey(tenantId, keyId) {
      if (!isId(tenantId) || !isId(keyId)) return null
      const { rows } = await q(`SELECT ${WM_COLUMNS} FROM watermark_keys WHERE id = $1 AND tenant_id = $2`, [
        keyId,
        tenantId,
      ])
      return rows.length > 0 ? wmRow(rows[0]) : null
    },

    async revokeWatermarkKey(tenantId, keyId, { graceSeconds }) {
      if (!isId(tenantId) || !isId(keyId)) return null
      const { rows } = await q(
        `UPDATE watermark_keys
         SET status = 'revoked', revoked_at = now(), detectable_until = now() + make_interval(secs => $3)
         WHERE id = $1 AND tenant_id = $2 AND status = 'active'
         RETURNING ${WM_COLUMNS}`,
        [keyId, tenantId, Math.max(0, graceSeconds)],
      )
      if (rows.length > 0) return wmRow(rows[0])
      return store.getWatermarkKey(tenantId, keyId) // already revoked (unchanged), or not this tenant's (null)
    },

    async rotateWatermarkKey(tenantId, keyId, { graceSeconds, params, newId: createdId = newId('wk') }) {
      if (!isId(tenantId) || !isId(keyId)) throw new StoreError('not_found', 'watermark key not found')
      return inTransaction(async (client) => {
        const old = await client.query(
          `SELECT ${WM_COLUMNS} FROM watermark_keys WHERE id = $1 AND tenant_id = $2 FOR UPDATE`,
          [keyId, tenantId],
        )
        if (old.rows.length === 0) throw new StoreError('not_found', 'watermark key not found')
        if (old.rows[0].status !== 'active')
          throw new StoreError('conflict', 'watermark key is already revoked')
        const revoked = await client.query(
          `UPDATE watermark_keys
           SET status = 'revoked', revoked_at = now(), detectable_until = now() + make_interval(secs => $3)
           WHERE id = $1 AND tenant_id = $2 RETURNING ${WM_COLUMNS}`,
          [keyId, tenantId, Math.max(0, graceSeconds)],
        )
        const created = await client.query(
          `INSERT INTO watermark_keys (id, tenant_id, scheme, params, tokenizer, rotated_from)
           VALUES ($5, $1, $2, $3::jsonb, $6, $4) RETURNING ${WM_COLUMNS}`,
          [
            tenantId,
            old.rows[0].scheme,
            JSON.stringify(params ?? old.rows[0].params ?? {}),
            keyId,
            createdId,
            old.rows[0].tokenizer,
          ],
        )
        return { revoked: wmRow(revoked.rows[0]), created: wmRow(created.rows[0]) }
      })
    },

    async insertDetection(tenantId, d) {
      if (!isId(tenantId)) throw new StoreError('not_found', 'tenant not found')
      if (!isId(d.id)) throw new TypeError('detection id must match [A-Za-z0-9_-]{1,64}')
      if (d.keyId !== null && !isId(d.keyId)) throw new StoreError('not_found', 'watermark key not found')
      // The tenant's opt-in is applied in SQL, so no caller can store text for a tenant that did not opt in;
      // the (tenant_id, key_id) foreign key rejects another tenant's key.
      const insert = q(
        `INSERT INTO detections
           (id, tenant_id, key_id, text_hash, text, scheme, p_value, log_p_value, tokens, scored, watermarked)
         SELECT $1, t.id, $3, $4, CASE WHEN t.store_text THEN $5 END, $6, $7, $8, $9, $10, $11
         FROM tenants t WHERE t.id = $2
         ON CONFLICT (id) DO NOTHING
         RETURNING id`,
        [
          d.id,
          tenantId,
          d.keyId,
          d.textHash,
          pgText(d.text),
          d.scheme,
          d.pValue,
          d.logPValue ?? null,
          d.tokens,
          d.scored,
          d.watermarked,
        ],
      )
      const { rows } = await insert.catch((err: { code?: string }) => {
        // 23503: the (tenant_id, key_id) foreign key, i.e. a key of another tenant or none at all.
        throw err.code === '23503' ? new StoreError('not_found', 'watermark key not found') : err
      })
      return rows.length > 0
    },

    async listDetections(tenantId, { limit = 100 } = {}) {
      if (!isId(tenantId)) return []
      const { rows } = await q(
        `SELECT id, tenant_id, key_id, text_hash, text, scheme, p_value, log_p_value, tokens, scored,
                watermarked, created_at
         FROM detections WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
        [tenantId, Math.min(Math.max(1, Math.trunc(limit)), 1000)],
      )
      return rows.map(detectionRow)
    },

    async insertGeneration(tenantId, g) {
      if (!isId(tenantId)) throw new StoreError('not_found', 'tenant not found')
      if (!isId(g.id)) throw new TypeError('generation id must match [A-Za-z0-9_-]{1,64}')
      if (g.keyId !== null && !isId(g.keyId)) throw new StoreError('not_found', 'watermark key not found')
      // As for detections: the opt-in is applied in SQL and the (tenant_id, key_id) foreign key
      // rejects another tenant's key.
      const { rows } = await q(
        `INSERT INTO generations
           (id, tenant_id, key_id, scheme, model, endpoint, stream, prompt_tokens, completion_tokens,
            latency_ms, first_token_ms, finish_reason, outcome, error_code, text)
         SELECT $1, t.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                CASE WHEN t.store_text THEN $15 END
         FROM tenants t WHERE t.id = $2
         ON CONFLICT (id) DO NOTHING
         RETURNING id`,
        [
          g.id,
          tenantId,
          g.keyId,
          g.scheme,
          pgText(g.model),
          g.endpoint,
          g.stream,
          g.promptTokens,
          g.completionTokens,
          Math.max(0, Math.round(g.latencyMs)),
          g.firstTokenMs === null ? null : Math.max(0, Math.round(g.firstTokenMs)),
          g.finishReason,
          g.outcome,
          g.errorCode,
          pgText(g.text),
        ],
      ).catch((err: { code?: string }) => {
        throw err.code === '23503' ? new StoreError('not_found', 'watermark key not found') : err
      })
      return rows.length > 0
    },

    async listGenerations(tenantId, { limit = 100 } = {}) {
      if (!isId(tenantId)) return []
      const { rows } = await q(
        `SELECT ${GENERATION_COLUMNS} FROM generations
         WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
        [tenantId, Math.min(Math.max(1, Math.trunc(limit)), 1000)],
      )
      return rows.map(generationRow)
    },

    close() {
      closing ??= pool.end()
      options.waitUntil?.(closing)
      return closing
    },
  }
  return store
}

export interface OpenStoreOptions {
  connectionString: string
  /** ctx.waitUntil in the Worker, so pool.end() finishes after the response. */
  waitUntil?: (p: Promise<unknown>) => void
  /** Connections per request (default 2: a request rarely needs more, and Neon counts them). */
  max?: number
}

/**
 * One Neon Pool for one request. Configure neonConfig first (configureNeonForLocalProxy locally).
 * The Pool is made on the first query: most detections (cache hits, memoised keys) never touch the
 * database, and making and ending an unused Pool per request measurably lengthened their tail.
 */
export function openStore(options: OpenStoreOptions): Store {
  let pool: SqlPool | undefined
  let ended = false
  const open = (): SqlPool => {
    if (ended) throw new Error('the store is closed')
    if (!pool) {
      const neon = new Pool({ connectionString: options.connectionString, max: options.max ?? 2 })
      // An idle client's socket error is emitted on the pool; without a listener it would crash Node.
      neon.on('error', () => {})
      pool = neon as unknown as SqlPool
    }
    return pool
  }
  const lazy: SqlPool = {
    query: async (text, params) => open().query(text, params),
    connect: async () => open().connect(),
    end: () => {
      ended = true
      return pool ? pool.end() : Promise.resolve()
    },
  }
  return createStore(lazy, { waitUntil: options.waitUntil })
}
