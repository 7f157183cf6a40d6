// The experiments view: the tenant's experiments, and two ways to create one (a form, or a pasted
// ExperimentSpec as JSON; core/experiments/spec.ts validates either on the server).
import { getJson, names, postJson } from './api.ts'
import { errorLine, field, h, type View } from './dom.ts'
import type { Experiment, ExperimentSummary } from './types.ts'

const EXAMPLE = {
  name: 'kgw vs gumbel',
  grid: { schemes: [{ scheme: 'kgw-lefthash' }, { scheme: 'vllm-gumbel' }] },
  samples: 20,
  maxNewTokens: 64,
  attacks: [{ name: 'word-deletion', strength: 0.3 }],
  seed: 0,
}

const progressText = (p: ExperimentSummary['progress']) =>
  `${p.done} / ${p.total}${p.failed ? ` (${p.failed} failed)` : ''}`

function listTable(list: ExperimentSummary[]) {
  if (!list.length) return h('p', {}, 'No experiments yet.')
  const head = ['Name', 'Status', 'Created', 'Jobs done'].map((t) => h('th', { scope: 'col' }, t))
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...head)),
    h(
      'tbody',
      {},
      ...list.map((x) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: `#/experiments/${encodeURIComponent(x.id)}` }, x.name)),
          h('td', {}, x.status.replaceAll('_', ' ')),
          h('td', {}, new Date(x.createdAt).toLocaleString()),
          h('td', {}, progressText(x.progress)),
        ),
      ),
    ),
  )
}

/** One attack row: a name (from the API's enum when it publishes one) and a strength in (0, 1]. */
function attackRow(attacks: string[]) {
  const name = attacks.length
    ? h('select', { name: 'attack' }, ...attacks.map((a) => h('option', { value: a }, a)))
    : h('input', { name: 'attack', required: true, placeholder: 'word-deletion' })
  const strength = h('input', { type: 'number', name: 'strength', min: 0.01, max: 1, step: 0.01, value: 0.3 })
  const row = h('div', { class: 'row attack' }, field('Attack', name), field('Strength', strength))
  row.append(h('button', { type: 'button', onclick: () => row.remove() }, 'Remove attack'))
  return row
}

function specForm(create: (spec: unknown) => void) {
  const name = h('input', { name: 'name', required: true, maxlength: 200, value: 'experiment' })
  const schemes = h('select', { name: 'schemes', multiple: true, required: true, size: 6 })
  const num = (n: string, min: number, max: number, value: number) =>
    h('input', { type: 'number', name: n, min, max, value, required: true })
  const samples = num('samples', 1, 2000, 20)
  const maxNewTokens = num('maxNewTokens', 8, 1024, 64)
  const seed = num('seed', 0, 2 ** 31 - 1, 0)
  const attacks = h('div')
  let attackNames: string[] = []
  names().then((n) => {
    schemes.append(...n.schemes.map((s) => h('option', { value: s }, s)))
    attackNames = n.attacks
  })
  const submit = (e: Event) => {
    e.preventDefault()
    create({
      name: name.value,
      grid: { schemes: Array.from(schemes.selectedOptions).map((o) => ({ scheme: o.value })) },
      samples: samples.valueAsNumber,
      maxNewTokens: maxNewTokens.valueAsNumber,
      attacks: Array.from(attacks.children).map((row) => ({
        name: (row.querySelector('[name=attack]') as HTMLInputElement).value,
        strength: (row.querySelector('[name=strength]') as HTMLInputElement).valueAsNumber,
      })),
      seed: seed.valueAsNumber,
    })
  }
  return h(
    'form',
    { onsubmit: submit, 'aria-labelledby': 'new-form' },
    h('h2', { id: 'new-form' }, 'New experiment'),
    field('Name', name),
    field('Schemes', schemes, 'Ctrl/Cmd-click to choose several'),
    h('div', { class: 'row' }, field('Samples per cell', samples), field('Max new tokens', maxNewTokens)),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Attacks'),
      attacks,
      h('button', { type: 'button', onclick: () => attacks.append(attackRow(attackNames)) }, 'Add attack'),
    ),
    field('Seed', seed),
    h('button', { type: 'submit' }, 'Create experiment'),
  )
}

function jsonForm(create: (spec: unknown) => void, error: ReturnType<typeof errorLine>) {
  const spec = h('textarea', { name: 'spec', rows: 10, spellcheck: false, required: true })
  spec.value = JSON.stringify(EXAMPLE, null, 2)
  const submit = (e: Event) => {
    e.preventDefault()
    try {
      create(JSON.parse(spec.value))
    } catch (err) {
      error.show(`Not valid JSON: ${(err as Error).message}`)
    }
  }
  return h(
    'form',
    { onsubmit: submit, 'aria-labelledby': 'json-form' },
    h('h2', { id: 'json-form' }, 'From JSON'),
    field('Experiment spec (JSON)', spec),
    h('button', { type: 'submit' }, 'Create from JSON'),
  )
}

export function experimentsView(): View {
  const error = errorLine()
  const list = h('div', { 'aria-live': 'polite' }, h('p', {}, 'Loading…'))
  const load = () =>
    getJson<{ experiments: ExperimentSummary[] }>('/v1/experiments').then(
      ({ experiments }) => list.replaceChildren(listTable(experiments)),
      (e) => {
        list.replaceChildren()
        error.show(e)
      },
    )
  const create = (spec: unknown) => {
    error.clear()
    postJson<Experiment>('/v1/experiments', spec).then((x) => {
      location.hash = `#/experiments/${encodeURIComponent(x.id)}`
    }, error.show)
  }
  load()
  return {
    el: h(
      'section',
      {},
      h('h1', { tabindex: -1 }, 'Experiments'),
      error.el,
      h('button', { type: 'button', onclick: load }, 'Refresh'),
      list,
      h('div', { class: 'forms' }, specForm(create), jsonForm(create, error)),
    ),
  }
}
