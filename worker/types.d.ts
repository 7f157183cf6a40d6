/// <reference types="@cloudflare/vitest-pool-workers/types" />
// Module types for the Worker bundle: a `.wasm` import is a precompiled WebAssembly.Module.
declare module '*.wasm' {
  const module: WebAssembly.Module
  export default module
}

/** A `.bin` import is a Data module: the file's bytes. */
declare module '*.bin' {
  const data: ArrayBuffer
  export default data
}
