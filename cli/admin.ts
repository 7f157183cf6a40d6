// Operator commands that talk to the database directly (Node, pg): the CLI twin of the admin
// bootstrap routes, for creating a tenant and its API keys without the worker running.
import pg from 'pg'
import { createStore, type SqlPool } from '../worker/adapters/db.ts'

export interface TenantCreated {
  tenant: { id: string; name: string; storeText: boolean; detectionDetail: 'full' | 'verdict' }
  /** Shown once; only its SHA-256 is stored. */
  apiKey: string
}

export async function createTenant(
  databaseUrl: string,
  name: string,
  storeText = false,
  detectionDetail: 'full' | 'verdict' = 'full',
): Promise<TenantCreated> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 })
  try {
    const store = createStore(pool as unknown as SqlPool)
    const tenant = await store.createTenant({ name, storeText, detectionDetail })
    const { key } = await store.createApiKey(tenant.id, { name: 'created by wmlab tenant create' })
    const { id, storeText: stored, detectionDetail: detail } = tenant
    return { tenant: { id, name: tenant.name, storeText: stored, detectionDetail: detail }, apiKey: key }
  } finally {
    await pool.end()
  }
}

export interface ApiKeyCreated {
  id: string
  tenantId: string
  /** null: the key answers with its tenant's detail. */
  detectionDetail: 'full' | 'verdict' | null
  /** Shown once; only its SHA-256 is stored. */
  apiKey: string
}

/** Another API key for an existing tenant, e.g. a verdict-only one for an untrusted client. */
export async function createApiKey(
  databaseUrl: string,
  tenantId: string,
  detectionDetail?: 'full' | 'verdict',
): Promise<ApiKeyCreated> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 })
  try {
    const store = createStore(pool as unknown as SqlPool)
    const { key, apiKey } = await store.createApiKey(tenantId, {
      name: 'created by wmlab tenant api-key',
      detectionDetail,
    })
    return { id: apiKey.id, tenantId, detectionDetail: apiKey.detectionDetail, apiKey: key }
  } finally {
    await pool.end()
  }
}
