// One experiment: live progress (polled every second while queued or running), cancel, failures,
// exports, and the metrics once the summariser has written them.
import { ApiError, download, getJson, postJson } from './api.ts'
import { errorLine, h, type View } from './dom.ts'
import { renderMetrics } from './plots.ts'
import { type Experiment, isActive, type Progress } from './types.ts'

const POLL_MS = 1000

function duration(seconds: number) {
  const m = Math.floor(seconds / 60)
  const s = Math.round(seconds % 60)
  return m ? `${m} min ${s} s` : `${s} s`
}

const details = (p: Progress) =>
  [
    `${p.failed} failed`,
    p.ratePerMinute === null ? null : `${p.ratePerMinute.toFixed(1)} jobs/min`,
    p.etaSeconds === null ? null : `about ${duration(p.etaSeconds)} left`,
  ]
    .filter(Boolean)
    .join(' · ')

function failureTable(x: Experiment) {
  const head = ['Job', 'Sample', 'Cell', 'Attempts', 'Error'].map((t) => h('th', { scope: 'col' }, t))
  const rows = x.failures.map((f) =>
    h(
      'tr',
      {},
      ...[f.job, f.sample, f.cell, f.attempts].map((v) => h('td', {}, String(v))),
      h('td', {}, f.error),
    ),
  )
  return h('table', {}, h('thead', {}, h('tr', {}, ...head)), h('tbody', {}, ...rows))
}

export function experimentView(id: string): View {
  const path = `/v1/experiments/${encodeURIComponent(id)}`
  const error = errorLine()
  const title = h('h1', { tabindex: -1 }, 'Experiment')
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Jobs done' })
  const headline = h('p', { role: 'status' })
  const more = h('p', { class: 'muted' })
  const cancel = h('button', { type: 'button', hidden: true }, 'Cancel experiment')
  const exportAs = (format: 'csv' | 'jsonl') =>
    h(
      'button',
      {
        type: 'button',
        onclick: () => download(`${path}/export?format=${format}`, `${id}.${format}`).catch(error.show),
      },
      `Export ${format.toUpperCase()}`,
    )
  const failures = h('section', { hidden: true, 'aria-label': 'Failures' })
  const metrics = h('div')
  const root = h(
    'section',
    { class: 'experiment', 'data-experiment': id },
    h('p', {}, h('a', { href: '#/experiments' }, '← All experiments')),
    title,
    error.el,
    bar,
    headline,
    more,
    h('div', { class: 'row' }, cancel, exportAs('csv'), exportAs('jsonl')),
    failures,
    metrics,
  )
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  let metricsAt = ''

  function show(x: Experiment) {
    const p = x.progress
    root.dataset.status = x.status
    title.textContent = x.name
    bar.max = Math.max(1, p.total)
    bar.value = Math.min(p.total, p.done + p.failed)
    headline.textContent = `${x.status.replaceAll('_', ' ')}: ${p.done} of ${p.total} jobs done`
    more.textContent = details(p)
    cancel.hidden = !isActive(x.status)
    failures.hidden = x.failures.length === 0
    if (x.failures.length) failures.replaceChildren(h('h2', {}, 'Failures'), failureTable(x))
    if (x.metrics && x.metrics.computedAt !== metricsAt) {
      metricsAt = x.metrics.computedAt
      metrics.replaceChildren(renderMetrics(x.metrics, x.cells))
    }
  }

  async function poll() {
    let again = false
    try {
      const x = await getJson<Experiment>(path)
      if (stopped) return
      error.clear()
      show(x)
      // Metrics may land just after the last job: keep asking until a completed run has them.
      again = isActive(x.status) || (x.status.startsWith('completed') && !x.metrics)
    } catch (e) {
      error.show(e)
      // A network blip or 5xx is retried; a 4xx (gone, unauthorised) will not heal by itself.
      again = !(e instanceof ApiError && e.status < 500)
    }
    if (again && !stopped) timer = setTimeout(poll, POLL_MS)
  }

  cancel.addEventListener('click', () => {
    cancel.disabled = true
    postJson<Experiment>(`${path}/cancel`)
      .then(show, error.show)
      .finally(() => {
        cancel.disabled = false
      })
  })
  poll()
  return {
    el: root,
    dispose() {
      stopped = true
      clearTimeout(timer)
    },
  }
}
