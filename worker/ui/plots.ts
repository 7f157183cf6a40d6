// An experiment's metrics (core/experiments/types.ts) as plots and tables: TPR vs length, ROC
// curves, −log10 p histograms and perplexity, the comparison table and the empirical false-positive
// rates, each with its bootstrap interval.
import * as Plot from '@observablehq/plot'
import type {
  CellAttackMetrics,
  ComparisonRow,
  ExperimentMetrics,
  FprEstimate,
  Interval,
} from '../../core/experiments/types.ts'
import { nullsNeeded } from '../../core/metrics/detection.ts'
import { field, h } from './dom.ts'
import type { Experiment } from './types.ts'

const VARIANTS = ['watermarked', 'unwatermarked', 'human'] as const
const WIDTH = 720

const series = (d: CellAttackMetrics) => `${d.keyLabel} · ${d.attack}`
const fixed = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '–')
const withCi = (value: number, ci: Interval | null, digits = 3) =>
  ci ? `${fixed(value, digits)} [${fixed(ci.low, digits)}, ${fixed(ci.high, digits)}]` : fixed(value, digits)

/** A titled plot container; `draw` re-renders it when one of its own controls changes. */
function figure(kind: string, title: string, draw: () => Element, ...controls: HTMLElement[]) {
  const slot = h('div', { 'data-plot': kind })
  const redraw = () => slot.replaceChildren(draw())
  for (const c of controls) c.addEventListener('change', redraw)
  redraw()
  return h('section', { class: 'plot', 'aria-label': title }, h('h3', {}, title), ...controls, slot)
}

function tprPlot(m: ExperimentMetrics, alpha: number) {
  const rows = m.detection.flatMap((d) =>
    d.tprByLength
      .filter((p) => p.alpha === alpha)
      .map((p) => ({ series: series(d), tokens: p.tokens, tpr: p.tpr.value, ci: p.tpr.ci })),
  )
  const withInterval = rows.filter((r) => r.ci)
  return Plot.plot({
    width: WIDTH,
    ariaLabel: `True-positive rate against tokens at alpha ${alpha}`,
    x: { label: 'Tokens (T)', grid: true },
    y: { label: `TPR at α = ${alpha}`, domain: [0, 1], grid: true },
    color: { legend: true },
    marks: [
      Plot.ruleX(withInterval, {
        x: 'tokens',
        y1: (r) => r.ci.low,
        y2: (r) => r.ci.high,
        stroke: 'series',
        strokeOpacity: 0.35,
        strokeWidth: 3,
      }),
      Plot.line(rows, { x: 'tokens', y: 'tpr', stroke: 'series', marker: 'circle' }),
    ],
  })
}

function rocPlot(m: ExperimentMetrics) {
  const rows = m.detection.flatMap((d) =>
    (
      [
        ['vs human', d.roc.vsHuman],
        ['vs unwatermarked', d.roc.vsUnwatermarked],
      ] as const
    ).flatMap(([against, points]) =>
      [...points]
        .sort((a, b) => a.fpr - b.fpr || a.tpr - b.tpr)
        .map((p) => ({ ...p, against, series: series(d) })),
    ),
  )
  return Plot.plot({
    width: WIDTH,
    ariaLabel: 'ROC curves against human and unwatermarked texts',
    fx: { label: null },
    x: { label: 'False-positive rate', domain: [0, 1] },
    y: { label: 'True-positive rate', domain: [0, 1], grid: true },
    color: { legend: true },
    marks: [
      Plot.line(
        [
          [0, 0],
          [1, 1],
        ],
        { stroke: '#888', strokeDasharray: '4 3' },
      ),
      Plot.line(rows, { fx: 'against', x: 'fpr', y: 'tpr', stroke: 'series' }),
      Plot.frame({ stroke: '#ccc' }),
    ],
  })
}

function histogramPlot(d: CellAttackMetrics) {
  const rows = VARIANTS.flatMap((variant) => {
    const { edges, counts } = d.histogram[variant]
    return counts.map((count, i) => ({ variant, x1: edges[i], x2: edges[i + 1], count }))
  })
  return Plot.plot({
    width: WIDTH,
    marginRight: 100,
    ariaLabel: `Histogram of minus log10 p for ${series(d)}`,
    x: { label: '−log₁₀ p' },
    y: { label: 'Texts', grid: true },
    fy: { label: null, domain: VARIANTS },
    color: { legend: true, domain: VARIANTS },
    marks: [
      Plot.rectY(rows, { x1: 'x1', x2: 'x2', y: 'count', fy: 'variant', fill: 'variant', insetLeft: 1 }),
      Plot.ruleY([0]),
    ],
  })
}

function perplexityPlot(m: ExperimentMetrics, label: (cell: number) => string) {
  const rows = m.quality.flatMap((q) =>
    (['watermarked', 'unwatermarked'] as const).map((variant) => {
      const e = q.perplexity[variant]
      return {
        cell: label(q.cell),
        variant,
        value: e.value,
        low: e.ci?.low ?? e.value,
        high: e.ci?.high ?? e.value,
      }
    }),
  )
  const offset = { watermarked: -5, unwatermarked: 5 }
  return Plot.plot({
    width: WIDTH,
    marginLeft: 160,
    ariaLabel: 'Perplexity of watermarked and unwatermarked texts per cell, with confidence intervals',
    x: { label: 'Perplexity', grid: true },
    y: { label: null },
    color: { legend: true, domain: ['watermarked', 'unwatermarked'] },
    marks: (['watermarked', 'unwatermarked'] as const).flatMap((v) => {
      const data = rows.filter((r) => r.variant === v)
      return [
        Plot.ruleY(data, { y: 'cell', x1: 'low', x2: 'high', stroke: 'variant', dy: offset[v] }),
        Plot.dot(data, { y: 'cell', x: 'value', fill: 'variant', dy: offset[v], r: 4 }),
      ]
    }),
  })
}

/** A table cell tagged with what it shows, so tests and scrapers find a value without counting columns. */
const valueCell = (col: string, text: string) => h('td', { 'data-col': col }, text)

function comparisonTable(m: ExperimentMetrics, label: (cell: number) => string) {
  const alphas = m.comparison[0]?.tpr.map((t) => t.alpha) ?? []
  const head = [
    'Cell',
    'Scheme',
    'Attack',
    'Samples',
    ...alphas.map((a) => `TPR @ α=${a}`),
    'AUC vs unwatermarked',
    'AUC vs human',
    'Δ perplexity',
  ]
  // Metrics stored before the table carried AUC intervals: take them from the detection entry.
  const auc = (r: ComparisonRow) =>
    r.auc ??
    m.detection.find((d) => d.cell === r.cell && d.attack === r.attack)?.auc ?? {
      vsUnwatermarked: { value: Number.NaN, ci: null },
      vsHuman: { value: r.aucVsHuman, ci: null },
    }
  const pplCi = (cell: number) => m.quality.find((q) => q.cell === cell)?.perplexity.difference.ci ?? null
  const rows = m.comparison.map((r) => {
    const a = auc(r)
    return h(
      'tr',
      { 'data-cell': r.cell, 'data-attack': r.attack },
      h('th', { scope: 'row' }, label(r.cell)),
      ...[r.scheme, r.attack, String(r.samples)].map((v) => h('td', {}, v)),
      ...r.tpr.map((t) => valueCell(`tpr@${t.alpha}`, withCi(t.value, t.ci))),
      valueCell('auc-unwatermarked', withCi(a.vsUnwatermarked.value, a.vsUnwatermarked.ci)),
      valueCell('auc-human', withCi(a.vsHuman.value, a.vsHuman.ci)),
      valueCell(
        'ppl-difference',
        r.perplexityDifference === null ? '–' : withCi(r.perplexityDifference, pplCi(r.cell), 2),
      ),
    )
  })
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { 'data-table': 'comparison' },
      h(
        'caption',
        {},
        `Whole texts; TPR at the p-value threshold α; Δ perplexity = watermarked − unwatermarked (paired); ` +
          `intervals at ${m.confidence * 100} % (bootstrap, ${m.bootstrapResamples} resamples)`,
      ),
      h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows),
    ),
  )
}

/** One FPR estimate: the rate with its interval, n, and whether n can verify α (n ≥ 3/α). */
function fprText(e: FprEstimate) {
  return `${withCi(e.fpr.value, e.fpr.ci)} · n = ${e.n}${e.verifiable ? '' : ' · unverified'}`
}

function falsePositiveTable(m: ExperimentMetrics, label: (cell: number) => string) {
  const head = ['Cell', 'Scheme', 'Null texts', ...m.targetFprs.map((a) => `FPR @ α=${a}`)]
  const rows = m.falsePositives.flatMap((f) =>
    (['human', 'unwatermarked'] as const).map((kind) =>
      h(
        'tr',
        { 'data-cell': f.cell, 'data-null': kind },
        h('th', { scope: 'row' }, label(f.cell)),
        h('td', {}, f.scheme),
        h('td', {}, kind),
        ...f[kind].map((e) =>
          h(
            'td',
            {
              'data-col': `fpr@${e.alpha}`,
              class: e.verifiable ? null : 'unverified',
              title: e.verifiable
                ? null
                : `needs ≥ ${nullsNeeded(e.alpha)} null texts to verify α = ${e.alpha}`,
            },
            fprText(e),
          ),
        ),
      ),
    ),
  )
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { 'data-table': 'false-positives' },
      h(
        'caption',
        {},
        "Share of texts without this key's watermark (human, and unwatermarked model text) with p ≤ α. " +
          'A rate verifies α only with n ≥ 3/α null texts (rule of three); "unverified" rates are shown ' +
          'but cannot confirm α.',
      ),
      h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows),
    ),
  )
}

export function renderMetrics(m: ExperimentMetrics, cells: Experiment['cells']): HTMLElement {
  const labels = new Map<number, string>()
  for (const d of m.detection) labels.set(d.cell, d.keyLabel)
  for (const c of cells ?? []) labels.set(c.cell, c.keyLabel)
  const label = (cell: number) => labels.get(cell) ?? `cell ${cell}`

  const alpha = h('select', {}, ...m.targetFprs.map((a) => h('option', { value: a }, String(a))))
  const which = h('select', {}, ...m.detection.map((d, i) => h('option', { value: i }, series(d))))
  return h(
    'section',
    { class: 'metrics', 'aria-label': 'Results' },
    h('h2', {}, 'Results'),
    figure('tpr', 'Detection rate against length', () => tprPlot(m, Number(alpha.value)), field('α', alpha)),
    figure('roc', 'ROC curves', () => rocPlot(m)),
    figure(
      'hist',
      'p-values (−log₁₀ p)',
      () => {
        const d = m.detection[Number(which.value)]
        return d ? histogramPlot(d) : h('p', {}, 'No detections.')
      },
      field('Cell and attack', which),
    ),
    figure('ppl', 'Perplexity (lower is more fluent)', () => perplexityPlot(m, label)),
    h('h3', {}, 'Comparison'),
    comparisonTable(m, label),
    h('h3', {}, 'False positives'),
    falsePositiveTable(m, label),
    m.notes.length
      ? h(
          'section',
          { 'aria-label': 'Notes' },
          h('h3', {}, 'Notes'),
          h('ul', {}, ...m.notes.map((n) => h('li', {}, n))),
        )
      : null,
  )
}
