// npm run bench: every benchmark of the project, baselines measured in the same run.
import { spawnSync } from 'node:child_process'
import { formatDetectRows, benchDetect } from './detect.bench.ts'
import { benchKernels, formatRows } from './kernel.bench.ts'
import { benchGreenlistTracking, formatTrackingRows } from './greenlist-tracking.bench.ts'
import { benchKgwSeeding, formatSeedRows } from './kgw-seeding.bench.ts'
import {
  benchTokenizerLoad,
  benchTokenizers,
  formatLoadRows,
  formatTokenizerRows,
} from './tokenizer.bench.ts'

console.log(
  `# LM Watermark Lab benchmarks — ${new Date().toISOString()}, Node ${process.version}, one core\n`,
)
console.log('## Scoring kernel (WASM vs JS reference)\n')
console.log(formatRows(await benchKernels()))
console.log('\n## torch-MT19937 greenlists at V = 151,936: tracking pass vs walks (WASM)\n')
console.log(formatTrackingRows(await benchGreenlistTracking()))
console.log('\n## Detection per preset (scheme.detect end to end)\n')
console.log(formatDetectRows(await benchDetect()))
console.log('\n## KGW detection of 500 tokens: BigInt seeding (before) vs 32-bit halves (after)\n')
console.log(formatSeedRows(await benchKgwSeeding()))
console.log('\n## Tokenizers (Brown corpus, encode)\n')
console.log(formatTokenizerRows(await benchTokenizers({ docs: 100 })))
console.log(`\n${formatLoadRows(benchTokenizerLoad())}`)
// The generation benchmarks time microseconds per token: each runs in a fresh process, so the heap the
// benchmarks above leave behind (its collections, fresh pages) does not land in their timed loops.
for (const [title, file] of [
  ['Generation origin (brown-lm on CPU, watermark step, concurrency)', 'bench/origin.bench.ts'],
  ['Watermark step at generation (nextToken, V = 151,936)', 'bench/watermark-step.bench.ts'],
] as const) {
  console.log(`\n## ${title}\n`)
  const run = spawnSync('node_modules/.bin/tsx', [file], { stdio: 'inherit' })
  if (run.status !== 0) process.exitCode = 1
}

// The edge benchmarks run the Worker in workerd (the deployable bundle, or the whole lab under wrangler dev), each in its own
// process: see docs/benchmarks.md "Worker isolate", "Edge API" and "Detection under fixed-rate load".
for (const [title, args] of [
  ['Worker isolate: bundle, cold start, memory, latency direct to workerd', ['bench/isolate.bench.ts', '2']],
  ['Edge API: the deployable bundle in workerd (autocannon)', ['bench/worker.bench.ts', '20', '--workerd']],
  ['Edge API through wrangler dev (autocannon)', ['bench/worker.bench.ts', '20']],
  ['Detection under fixed-rate load: the Node server', ['bench/load.bench.ts']],
  [
    'Detection under fixed-rate load: the deployable bundle in workerd',
    ['bench/load.bench.ts', '20000', '500', '10', '--workerd'],
  ],
  [
    'Detection under fixed-rate load: the local worker',
    ['bench/load.bench.ts', '20000', '500', '10', '--lab'],
  ],
] as const) {
  console.log(`\n## ${title}\n`)
  const run = spawnSync('node_modules/.bin/tsx', args, { stdio: 'inherit' })
  if (run.status !== 0) process.exitCode = 1
}
