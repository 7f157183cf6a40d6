#!/usr/bin/env node
// Builds the origin's native membership walk (origin/native/membership.cc → origin/native/build/
// membership.node) with the system C++ compiler against Node's own N-API headers: no node-gyp, no
// download. Optional by design: without a compiler, headers or an x86-64 CPU the build says why and
// exits 0, and the origin keeps the WASM kernel (origin/native-kernel.ts). CI=true makes a failed
// compile (a compiler that is present but errors) fatal, so a broken source cannot pass unnoticed.
// --require (the GPU image's build) makes every skip and failure fatal.
// Usage: node scripts/build-native.mjs [--force] [--require]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'origin/native/membership.cc')
const out = join(root, 'origin/native/build/membership.node')
const include = join(dirname(process.execPath), '..', 'include', 'node')
const required = process.argv.includes('--require')
const skip = (why) => {
  console.log(`native membership walk: skipped (${why}); the origin uses the WASM kernel`)
  process.exit(required ? 1 : 0)
}

if (process.arch !== 'x64') skip(`${process.arch}: the walk is AVX-512 code`)
if (!existsSync(join(include, 'node_api.h'))) skip(`no Node headers at ${include}`)
const cxx = process.env.CXX ?? 'g++'
if (spawnSync(cxx, ['--version']).status !== 0) skip(`no C++ compiler (${cxx})`)
if (
  !process.argv.includes('--force') &&
  existsSync(out) &&
  statSync(out).mtimeMs > statSync(source).mtimeMs
) {
  console.log(`native membership walk: up to date (${out})`)
  process.exit(0)
}
mkdirSync(dirname(out), { recursive: true })
// -Wno-(maybe-)uninitialized: GCC 12's AVX-512 headers trip them on their own `__Y = __Y` idiom.
const args = [
  '-O3',
  '-std=c++17',
  '-shared',
  '-fPIC',
  '-Wall',
  '-Wno-uninitialized',
  '-Wno-maybe-uninitialized',
]
const r = spawnSync(cxx, [...args, `-I${include}`, '-o', out, source], { stdio: 'inherit' })
if (r.status !== 0) {
  console.error(`native membership walk: ${cxx} failed (exit ${r.status})`)
  process.exit(required || process.env.CI === 'true' ? 1 : 0)
}
console.log(`native membership walk: built ${out}`)
