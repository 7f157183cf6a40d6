// Detection with an explicit key id reads the tenant's memoised key list, not the database, on every
// request; ids outside the list fall back to a read scoped to the tenant (404 for another tenant's).
import { describe, expect, it } from 'vitest'
import { call, createApp, memoryDeps, newTenant } from '../../test/reliability/harness.ts'

describe('detection with an explicit key id', () => {
  it('answers from the memoised key list; falls back to a tenant-scoped read; sees revocations at once', async () => {
    const deps = memoryDeps({ revokedGraceSeconds: 0 })
    const app = createApp(deps)
    const a = await newTenant(app, 'keys-a')
    const b = await newTenant(app, 'keys-b')
    const keyA = (await call(app, 'POST', '/v1/keys', { key: a, body: { scheme: 'kgw-lefthash' } })).body.id
    const keyB = (await call(app, 'POST', '/v1/keys', { key: b, body: { scheme: 'kgw-lefthash' } })).body.id

    const reads = { getKey: 0, listKeys: 0 }
    const { store } = deps
    const getKey = store.getKey.bind(store)
    const listKeys = store.listKeys.bind(store)
    store.getKey = (...args) => {
      reads.getKey++
      return getKey(...args)
    }
    store.listKeys = (...args) => {
      reads.listKeys++
      return listKeys(...args)
    }

    for (const text of ['one text to detect', 'another text to detect', 'a third text to detect']) {
      const r = await call(app, 'POST', '/v1/detect', { key: a, body: { text, keyId: keyA } })
      expect(r.status, r.text).toBe(200)
      expect(r.body.keyId).toBe(keyA)
    }
    expect(reads).toEqual({ getKey: 0, listKeys: 1 })

    // Another tenant's id is not in A's list: one read, scoped to A, finds nothing.
    const foreign = await call(app, 'POST', '/v1/detect', { key: a, body: { text: 'x y z', keyId: keyB } })
    expect([foreign.status, foreign.body.error.code]).toEqual([404, 'key_not_found'])
    expect(reads.getKey).toBe(1)

    // Revoked in this isolate (no grace here): the memo is dropped, the next detection sees it.
    expect((await call(app, 'DELETE', `/v1/keys/${keyA}`, { key: a })).status).toBe(200)
    const revoked = await call(app, 'POST', '/v1/detect', { key: a, body: { text: 'after', keyId: keyA } })
    expect([revoked.status, revoked.body.error.code]).toEqual([410, 'key_revoked'])
  })
})
