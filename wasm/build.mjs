// Compiles wasm/assembly/index.ts to wasm/build/kernel.wasm (+ raw bindings kernel.js / kernel.d.ts
// and kernel.wat for inspection). Skips the compile when the outputs are newer than every source,
// so `npm test` re-runs stay fast. Usage: node wasm/build.mjs [--force]
import { mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const srcDir = join(here, 'assembly')
const outDir = join(here, 'build')
const outputs = ['kernel.wasm', 'kernel.js', 'kernel.d.ts'].map((f) => join(outDir, f))

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs
  } catch {
    return -1
  }
}

const sources = [fileURLToPath(import.meta.url)]
for (const f of readdirSync(srcDir, { recursive: true })) {
  const p = join(srcDir, String(f))
  if (p.endsWith('.ts')) sources.push(p)
}
const newestSource = Math.max(...sources.map(mtime))
const oldestOutput = Math.min(...outputs.map(mtime))

if (!process.argv.includes('--force') && oldestOutput >= newestSource) {
  console.log('build:wasm: wasm/build/kernel.wasm is up to date')
} else {
  mkdirSync(outDir, { recursive: true })
  const { default: asc } = await import('assemblyscript/asc')
  const started = Date.now()
  // --bindings raw: instantiate(module, imports) takes a precompiled WebAssembly.Module (Workers).
  // --runtime stub: the kernel never allocates; the adapter manages linear memory itself.
  const { error, stderr } = await asc.main([
    join(srcDir, 'index.ts'),
    '--outFile',
    join(outDir, 'kernel.wasm'),
    '--textFile',
    join(outDir, 'kernel.wat'),
    '--bindings',
    'raw',
    '--runtime',
    'stub',
    '-O3',
    '--noAssert',
    '--enable',
    'simd', // Philox and MT19937 four lanes at a time (V8 and workerd support SIMD)
  ])
  if (error) {
    console.error(stderr.toString())
    console.error(`build:wasm: ${error.message}`)
    process.exit(1)
  }
  const size = statSync(outputs[0]).size
  console.log(`build:wasm: compiled wasm/build/kernel.wasm (${size} bytes) in ${Date.now() - started} ms`)
}
