// The watermark-key picker shared by the detect and generate views.
import { getJson } from './api.ts'
import { h } from './dom.ts'
import type { WatermarkKey } from './types.ts'

/**
 * A select of the tenant's keys (GET /v1/keys) after the given fixed choices; `onError` hears a
 * failed load.
 */
export function keySelect(fixed: [value: string, label: string][], onError: (e: unknown) => void) {
  const select = h('select', { name: 'keyId' }, ...fixed.map(([v, l]) => h('option', { value: v }, l)))
  getJson<{ keys: WatermarkKey[] }>('/v1/keys').then(({ keys }) => {
    for (const k of keys) {
      const label = `${k.id} — ${k.scheme} (${k.tokenizer})${k.status === 'revoked' ? ', revoked' : ''}`
      select.append(h('option', { value: k.id }, label))
    }
  }, onError)
  return select
}
