// Entry point: npm run origin. Reads the environment, starts loading the model and listens at once
// (GET /health says "loading" until the model answers); requests wait for the load.
//   ORIGIN_PORT (8788) · ORIGIN_HOST (127.0.0.1) · WMLAB_MODEL (registry default) · ORIGIN_DEVICE (cpu|cuda)
//   WATERMARK_MASTER_SECRET · ORIGIN_SIGNING_SECRET · ORIGIN_ALLOW_UNSIGNED=1 (local development only)
//   ORIGIN_MAX_CONCURRENCY (2) · ORIGIN_MAX_QUEUE (16) · WMLAB_MODEL_DIR (development only)
// Traces (origin/tracing.ts; off unless an endpoint is set), exported as OTLP/HTTP JSON:
//   OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is)
//   OTEL_EXPORTER_OTLP_HEADERS, e.g. Authorization=Basic%20<base64(instanceId:token)> for Grafana Cloud
//   OTEL_SERVICE_NAME (wmlab-origin) · OTEL_SDK_DISABLED=true turns tracing off
// SIGTERM/SIGINT: stop accepting, let open streams finish (up to 5 s), export the last spans, exit.
import { serve } from '@hono/node-server'
import { loadTokenizer } from '../cli/tokenizers-node.ts'
import { loadModelRegistry, modelDir } from '../models/registry.ts'
import { loadWasmKernel } from '../wasm/node.ts'
import { originKernel } from './native-kernel.ts'
import { createOriginApp } from './app.ts'
import { readOriginConfig } from './config.ts'
import { loadTransformersEngine } from './engine/transformers.ts'
import { startOriginTracing, traceModelLoad } from './tracing.ts'

async function main() {
  const config = readOriginConfig(process.env)
  // First, so the model load is traced.
  const tracing = await startOriginTracing(process.env)
  const registry = loadModelRegistry()
  const model = registry.get(config.modelId ?? registry.defaultId)
  const dir = modelDir(model)
  const engine = traceModelLoad(model.id, config.device, () =>
    loadTransformersEngine(model, { dir, device: config.device }),
  )
  engine.then(
    (e) =>
      console.log(`origin: model ${model.id} loaded from ${dir} on ${e.device} in ${e.loadMs.toFixed(0)} ms`),
    (err: unknown) => console.error(`origin: model ${model.id} failed to load: ${String(err)}`),
  )
  const app = createOriginApp({
    model,
    tokenizer: loadTokenizer(model.tokenizer),
    engine,
    // the JS kernel is the reference and the fallback when wasm/build is missing (npm run build)
    kernel: await loadWasmKernel()
      .then((wasm) => originKernel(wasm, (line) => console.log(line)))
      .catch((err: unknown) => {
        console.warn(`origin: ${String(err)}; using the JavaScript kernel`)
        return undefined
      }),
    masterSecret: config.masterSecret,
    signingSecret: config.signingSecret,
    allowUnsigned: config.allowUnsigned,
    maxConcurrency: config.maxConcurrency,
    maxQueue: config.maxQueue,
    tracing,
    log: (line) => console.log(line),
  })
  if (config.allowUnsigned)
    console.warn('origin: ORIGIN_ALLOW_UNSIGNED=1 — unsigned requests accepted (local development only)')
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) =>
    console.log(`origin: listening on http://${config.host}:${info.port} (model ${model.id})`),
  )
  let exiting = false
  const exit = () => {
    if (exiting) return
    exiting = true
    // an unreachable OTLP endpoint must not hold the exit back for its export timeout
    setTimeout(() => process.exit(0), 3000).unref()
    tracing
      .shutdown()
      .catch((err: unknown) => console.warn(`origin: exporting the last spans failed: ${String(err)}`))
      .finally(() => process.exit(0))
  }
  const shutdown = () => {
    server.close(exit)
    // open streams would hold close() back: give them a few seconds, then go
    setTimeout(exit, 5000).unref()
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

await main()
