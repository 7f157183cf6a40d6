// The GPU image (origin/Dockerfile) cannot be built on this machine (no Docker, no GPU), so its drift is
// checked here: every file the origin imports, transitively from origin/server.ts, is inside a folder
// the runtime stage copies, and the stage installs the CUDA execution provider that npm ci leaves out.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')
const dockerfile = readFileSync(join(root, 'origin/Dockerfile'), 'utf8')
const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))

/** Relative imports reachable from `entry` (type-only imports too: harmless to over-approximate). */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const src = readFileSync(file, 'utf8')
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), m[1])
      if (target.endsWith('.ts') && existsSync(target)) visit(target)
      else seen.add(target)
    }
  }
  visit(entry)
  return seen
}

describe('origin/Dockerfile', () => {
  it('copies every folder the origin imports from, and the entry point exists', () => {
    const copied = [...runtime.matchAll(/^COPY --from=build \/app\/(\S+) /gm)].map((m) => m[1])
    expect(copied.length).toBeGreaterThan(0)
    const files = [...reachable(join(root, 'origin/server.ts'))].map((f) => relative(root, f))
    expect(files.length).toBeGreaterThan(20)
    const outside = files.filter((f) => !copied.some((dir) => f === dir || f.startsWith(`${dir}/`)))
    expect(outside).toEqual([])
    const cmd = /^CMD \["node_modules\/\.bin\/tsx", "([^"]+)"\]/m.exec(runtime)
    expect(cmd?.[1]).toBe('origin/server.ts')
  })

  it('runs on CUDA with the provider npm ci skips, and builds what the origin loads at start', () => {
    expect(
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).allowScripts['onnxruntime-node'],
    ).toBe(false)
    expect(runtime).toMatch(/^FROM nvidia\/cuda:12\.\S+-cudnn-runtime/m)
    expect(runtime).toContain(
      'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js',
    )
    expect(runtime).toMatch(/ORIGIN_DEVICE=cuda/)
    // The WASM kernel and the model folders' tokenizer files are build outputs, made in the build stage.
    expect(dockerfile).toMatch(
      /RUN npm run build:wasm && npm run build:native -- --require && npm run build:models/,
    )
    // The native walk is compiled there (g++), into origin/native/build, which the runtime stage copies.
    const build = dockerfile.slice(0, dockerfile.lastIndexOf('\nFROM '))
    expect(build).toMatch(/apt-get install -y --no-install-recommends g\+\+/)
    expect(runtime).toMatch(/^COPY --from=build \/app\/origin \.\/origin$/m)
  })

  it('runs as a user the runtime stage creates (the CUDA base image has no "node" user)', () => {
    const user = /^USER (\S+)$/m.exec(runtime)?.[1]
    expect(user).toBeDefined()
    const created = runtime.indexOf(`useradd`)
    expect(created).toBeGreaterThan(-1)
    expect(runtime.slice(created).split('\n')[0]).toMatch(new RegExp(`\\s${user}$`))
    expect(created).toBeLessThan(runtime.indexOf(`USER ${user}`))
  })
})
