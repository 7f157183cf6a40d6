// Golden vectors computed by running the reference implementations (see ../shared/vectors).
// The shared folder is the source of truth; a committed copy keeps the suite runnable alone.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const shared = fileURLToPath(new URL('../../shared/vectors/', import.meta.url))
const local = fileURLToPath(new URL('./vectors/', import.meta.url))

export function loadVectors<T = any>(name: 'vllm.json' | 'torch-synthid.json'): T {
  const dir = existsSync(shared + name) ? shared : local
  return JSON.parse(readFileSync(dir + name, 'utf8')) as T
}
