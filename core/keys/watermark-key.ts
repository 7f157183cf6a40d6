// Watermark key material, derived (HKDF-SHA256, WebCrypto) from a master secret and the key id.
// The edge (detect) and the origin (generate) derive it the same way, so key material is never
// stored, sent or logged: only the key id travels.
import { createScheme, getPreset } from '../schemes/registry.ts'
import type { SchemeDeps, WatermarkScheme } from '../schemes/types.ts'

const enc = new TextEncoder()

/** 64 bits of watermark key material for a key id; deterministic for (master secret, key id). */
export async function deriveKeyMaterial(masterSecret: string, keyId: string): Promise<bigint> {
  if (masterSecret.length < 16) throw new Error('WATERMARK_MASTER_SECRET must be at least 16 characters')
  const ikm = await crypto.subtle.importKey('raw', enc.encode(masterSecret), 'HKDF', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: enc.encode('wmlab/watermark-key/v1'), info: enc.encode(keyId) },
    ikm,
    64,
  )
  return new DataView(bits).getBigUint64(0, false)
}

/** The scheme's secret parameter from 64 bits of key material (KGW-style hash keys are int64). */
export function schemeKey(scheme: string, material: bigint): bigint {
  return getPreset(scheme).family === 'red-green' && scheme !== 'vllm-redgreen' ? material >> 1n : material
}

export interface KeyedSchemeSpec {
  keyId: string
  scheme: string
  params: Record<string, unknown>
}

/** The scheme a stored watermark key stands for, keyed with its derived material. */
export async function keyedScheme(
  masterSecret: string,
  spec: KeyedSchemeSpec,
  vocabSize: number,
  deps: Partial<SchemeDeps> = {},
): Promise<WatermarkScheme> {
  const key = schemeKey(spec.scheme, await deriveKeyMaterial(masterSecret, spec.keyId))
  return createScheme(spec.scheme, { ...spec.params, key, vocabSize }, deps)
}
