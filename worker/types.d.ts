/// <reference types="@cloudflare/vitest-pool-workers/types" />
// Module types for the Worker bundle: a `.wasm` import is a precompiled WebAssembly.Module.
declare module '*.wasm' {
  const module: WebAssembly.Module
  export default module
}
