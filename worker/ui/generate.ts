// The generate view: streams a watermarked completion (POST /v1/generate, SSE), then detects the
// final text with the key that was applied and shows the verdict with the detect view's renderer.
import { ApiError, call, events, postJson } from './api.ts'
import { renderDetection, summary } from './detection-view.ts'
import { errorLine, field, h, type View } from './dom.ts'
import { keySelect } from './keys.ts'
import type { Detection } from './types.ts'

interface GenerateResult {
  text: string
  usage: { completionTokens: number }
  watermark: { keyId: string; scheme: string } | null
  timing: { totalMs: number; tokensPerSecond: number }
}

export function generateView(): View {
  const error = errorLine()
  const prompt = h('textarea', { name: 'prompt', rows: 4, required: true })
  const key = keySelect(
    [
      ['', 'newest active key'],
      ['none', 'none (unwatermarked)'],
    ],
    error.show,
  )
  const maxTokens = h('input', { type: 'number', name: 'maxTokens', min: 1, max: 4096, value: 120 })
  const minTokens = h('input', { type: 'number', name: 'minTokens', min: 0, max: 4096, value: 0 })
  const temperature = h('input', {
    type: 'number',
    name: 'temperature',
    min: 0,
    max: 5,
    step: 0.1,
    value: 1,
  })
  const submit = h('button', { type: 'submit' }, 'Generate')
  const stop = h('button', { type: 'button', disabled: true }, 'Stop')
  const status = h('p', { role: 'status' })
  const output = h('p', { class: 'generated', 'aria-label': 'Generated text' })
  const verdict = h('div')
  let controller: AbortController | null = null

  async function stream(): Promise<GenerateResult> {
    const r = await call(
      'POST',
      '/v1/generate',
      {
        prompt: prompt.value,
        stream: true,
        sampling: {
          maxTokens: maxTokens.valueAsNumber,
          temperature: temperature.valueAsNumber,
          ...(minTokens.valueAsNumber > 0 ? { minTokens: minTokens.valueAsNumber } : {}),
        },
        ...(key.value ? { keyId: key.value } : {}),
      },
      controller!.signal,
    )
    for await (const ev of events(r)) {
      const data = JSON.parse(ev.data)
      if (ev.event === 'token') output.append(data.text)
      else if (ev.event === 'done') return data as GenerateResult
      else if (ev.event === 'error') throw new ApiError(502, data.error.code, data.error.message)
    }
    throw new ApiError(502, 'stream_cut', 'the stream ended without a result')
  }

  async function run(e: Event) {
    e.preventDefault()
    error.clear()
    output.replaceChildren()
    verdict.replaceChildren()
    controller = new AbortController()
    submit.disabled = true
    stop.disabled = false
    output.setAttribute('aria-busy', 'true')
    status.textContent = 'Generating…'
    try {
      const result = await stream()
      const { completionTokens } = result.usage
      const rate = result.timing.tokensPerSecond.toFixed(1)
      status.textContent = `Generated ${completionTokens} tokens (${rate} tokens/s); detecting…`
      const d = await postJson<Detection>('/v1/detect', {
        text: result.text,
        keyId: result.watermark?.keyId ?? 'auto',
        options: { dedup: true, perToken: true, normalize: true, windowed: false },
      })
      status.textContent = `Generated ${completionTokens} tokens. ${summary(d)}`
      verdict.replaceChildren(renderDetection(d))
    } catch (err) {
      status.textContent = ''
      if ((err as Error).name !== 'AbortError') error.show(err)
      else status.textContent = 'Stopped.'
    } finally {
      output.removeAttribute('aria-busy')
      submit.disabled = false
      stop.disabled = true
      controller = null
    }
  }

  stop.addEventListener('click', () => controller?.abort())
  const form = h(
    'form',
    { onsubmit: run },
    field('Prompt', prompt),
    field('Watermark key', key),
    h(
      'div',
      { class: 'row' },
      field('Max tokens', maxTokens),
      field('Min tokens', minTokens, 'no end of text before'),
      field('Temperature', temperature, '0 = greedy'),
    ),
    h('div', { class: 'row' }, submit, stop),
  )
  return {
    el: h('section', {}, h('h1', { tabindex: -1 }, 'Generate'), form, error.el, status, output, verdict),
    dispose: () => controller?.abort(),
  }
}
