// Test-only: loads the shared vLLM golden vectors (a Node API, so kept out of library code).
import { readFileSync } from 'node:fs'

const here = new URL('.', import.meta.url)
// /work/main/core/stats → /work/shared/vectors/vllm.json
const path = new URL('../../../shared/vectors/vllm.json', here)

// biome-ignore lint/suspicious/noExplicitAny: JSON of a known shape, checked field by field in tests
export const vllmVectors: any = JSON.parse(readFileSync(path, 'utf8'))
