// Operator commands that talk to the database directly (Node, pg): the CLI twin of the admin
// bootstrap route, for creating a tenant and its first API key without the worker running.
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
