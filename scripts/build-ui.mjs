// npm run build:ui: bundles the Lab UI (worker/ui/) into worker/public/ — index.html, app.js,
// app.css, minified — which the Worker serves as static assets. The output depends only on the
// sources: the same input gives the same bytes, and index.html names each file with a `?v=`
// content hash so a browser never mixes a new page with an old bundle.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'worker/ui')
const out = join(root, 'worker/public')

const result = await build({
  entryPoints: [
    { in: join(src, 'main.ts'), out: 'app' },
    { in: join(src, 'app.css'), out: 'app' },
  ],
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  legalComments: 'none',
  charset: 'utf8',
  write: false,
  logLevel: 'warning',
})

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
let html = readFileSync(join(src, 'index.html'), 'utf8')
const files = [...result.outputFiles].sort((a, b) => a.path.localeCompare(b.path))
for (const file of files) {
  const name = basename(file.path)
  const hash = createHash('sha256').update(file.contents).digest('hex').slice(0, 12)
  if (!html.includes(`"${name}"`)) throw new Error(`index.html does not reference ${name}`)
  html = html.replace(`"${name}"`, `"${name}?v=${hash}"`)
  writeFileSync(file.path, file.contents)
}
writeFileSync(join(out, 'index.html'), html)
// Security headers for every static asset (Workers Static Assets read _headers). The UI loads only its
// own script and style; Observable Plot sets style attributes, hence 'unsafe-inline' for styles only.
const csp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')
writeFileSync(
  join(out, '_headers'),
  `/*
  Content-Security-Policy: ${csp}
  X-Content-Type-Options: nosniff
  X-Frame-Options: DENY
  Referrer-Policy: no-referrer
  Permissions-Policy: camera=(), microphone=(), geolocation=()
  Cross-Origin-Opener-Policy: same-origin
`,
)

const kB = (n) => `${(n / 1024).toFixed(1)} kB`.padStart(9)
for (const name of ['index.html', ...files.map((f) => basename(f.path))]) {
  const bytes = readFileSync(join(out, name))
  console.log(
    `worker/public/${name.padEnd(10)} ${kB(bytes.length)}  (gzip ${kB(gzipSync(bytes).length).trim()})`,
  )
}
