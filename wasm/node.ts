// Node loader for the WASM kernel: reads wasm/build/kernel.wasm (built by `npm run build:wasm`).
import { readFile } from 'node:fs/promises'
import type { ScoringKernel } from '../core/kernel/types.ts'
import { createWasmKernel } from './kernel.ts'

export const KERNEL_WASM_URL = new URL('./build/kernel.wasm', import.meta.url)

let cached: Promise<ScoringKernel> | undefined

/** The WASM ScoringKernel, compiled and instantiated once per process. */
export function loadWasmKernel(): Promise<ScoringKernel> {
  cached ??= readFile(KERNEL_WASM_URL)
    .then((bytes) => WebAssembly.compile(bytes))
    .then(createWasmKernel)
    .catch((err: unknown) => {
      cached = undefined // let a later call retry, e.g. after the build has run
      throw new Error(`cannot load ${KERNEL_WASM_URL.pathname} (run npm run build:wasm): ${String(err)}`)
    })
  return cached
}
