// The Store over Postgres (Neon serverless driver; tenant-scoped SQL in worker/adapters/db.ts).
import { type Store as DbStore, openStore, StoreError } from '../adapters/db.ts'
import { withAvailability } from './db-availability.ts'
import type { Store, WatermarkKeyRecord } from './store.ts'

const toRecord = (k: Awaited<ReturnType<DbStore['getWatermarkKey']>>): WatermarkKeyRecord | null =>
  k && {
    id: k.id,
    tenantId: k.tenantId,
    scheme: k.scheme,
    params: k.params,
    tokenizer: k.tokenizer ?? 'qwen3',
    status: k.status,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
  }

export function postgresStore(db: DbStore, graceSeconds: number): Store {
  return {
    tenantForApiKeyHash: async (hash) => (await db.findApiKeyByHash(hash))?.tenant ?? null,
    createTenant: (name, storeText, detectionDetail) => db.createTenant({ name, storeText, detectionDetail }),
    createApiKey: async (tenantId, options = {}) => {
      try {
        const { key, apiKey } = await db.createApiKey(tenantId, { detectionDetail: options.detectionDetail })
        return { id: apiKey.id, key }
      } catch (e) {
        if (e instanceof StoreError && e.code === 'not_found') return null
        throw e
      }
    },
    createKey: async ({ id, tenantId, scheme, params, tokenizer }) =>
      toRecord(await db.createWatermarkKey(tenantId, { id, scheme, params, tokenizer }))!,
    listKeys: async (tenantId) => (await db.listWatermarkKeys(tenantId)).map((k) => toRecord(k)!),
    getKey: async (tenantId, keyId) => toRecord(await db.getWatermarkKey(tenantId, keyId)),
    revokeKey: async (tenantId, keyId) =>
      toRecord(await db.revokeWatermarkKey(tenantId, keyId, { graceSeconds })),
    rotateKey: async (tenantId, keyId, successorId) => {
      try {
        const { created } = await db.rotateWatermarkKey(tenantId, keyId, { graceSeconds, newId: successorId })
        return toRecord(created)
      } catch (e) {
        if (e instanceof StoreError && e.code === 'not_found') return null
        if (e instanceof StoreError && e.code === 'conflict') return 'already_revoked'
        throw e
      }
    },
    insertDetection: async (rec) => {
      await db.insertDetection(rec.tenantId, {
        id: rec.id,
        keyId: rec.keyId,
        textHash: rec.textSha256,
        text: rec.text,
        scheme: rec.scheme,
        pValue: rec.pValue,
        tokens: rec.tokens,
        scored: rec.scored,
        watermarked: rec.watermarked,
      })
    },
    recordGeneration: async ({ tenantId, ...row }) => {
      await db.insertGeneration(tenantId, row)
    },
    close: () => db.close(),
  }
}

/** One Postgres-backed Store per request; the pool ends through waitUntil after the response. */
export function openPostgresStore(
  connectionString: string,
  graceSeconds: number,
  waitUntil: (p: Promise<unknown>) => void,
): Store {
  // An unreachable database answers 503 database_unavailable, not 500 (db-availability.ts).
  return withAvailability(postgresStore(openStore({ connectionString, waitUntil }), graceSeconds))
}
