// The detect view: text in, verdict and highlighted tokens out (POST /v1/detect).
import { postJson } from './api.ts'
import { renderDetection, summary } from './detection-view.ts'
import { errorLine, field, h, type View } from './dom.ts'
import { keySelect } from './keys.ts'
import type { Detection } from './types.ts'

export function detectView(): View {
  const error = errorLine()
  const text = h('textarea', { name: 'text', rows: 8, required: true, spellcheck: false })
  const key = keySelect([['auto', 'auto (every active key)']], error.show)
  const dedup = h('input', { type: 'checkbox', name: 'dedup', checked: true })
  const normalize = h('input', { type: 'checkbox', name: 'normalize', checked: true })
  const submit = h('button', { type: 'submit' }, 'Detect')
  const status = h('p', { role: 'status' })
  const result = h('div')

  async function run(e: Event) {
    e.preventDefault()
    error.clear()
    submit.disabled = true
    status.textContent = 'Detecting…'
    try {
      const d = await postJson<Detection>('/v1/detect', {
        text: text.value,
        keyId: key.value,
        options: { dedup: dedup.checked, perToken: true, normalize: normalize.checked, windowed: false },
      })
      status.textContent = summary(d)
      result.replaceChildren(renderDetection(d))
    } catch (err) {
      status.textContent = ''
      error.show(err)
    } finally {
      submit.disabled = false
    }
  }

  const form = h(
    'form',
    { onsubmit: run },
    field('Text', text),
    field('Watermark key', key),
    h(
      'fieldset',
      { class: 'row' },
      h('legend', {}, 'Options'),
      h('label', {}, dedup, ' Score repeated contexts once'),
      h('label', {}, normalize, ' Normalise text (NFC, invisible characters, homoglyphs)'),
    ),
    submit,
  )
  return { el: h('section', {}, h('h1', { tabindex: -1 }, 'Detect'), form, error.el, status, result) }
}
