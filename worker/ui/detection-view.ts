// Renders a detection result: verdict, statistics and the tokens coloured by score. The detect and
// generate views share it, so both show the same evidence the verdict came from.
import { h } from './dom.ts'
import type { Detection, TokenScore } from './types.ts'

const RED_GREEN = /kgw|selfhash|redgreen|red-green|unigram/
const CONTINUOUS = /gumbel|synthid/

/**
 * A p-value for people: small ones from ln p through log10, so 1e-300 and below stay exact.
 *
 * @example formatP(Math.log(1.2e-45)) // '1.2e-45'
 */
export function formatP(logP: number): string {
  if (logP >= Math.log(1e-4)) return String(Number(Math.exp(logP).toPrecision(3)))
  const log10 = logP / Math.LN10
  let exponent = Math.floor(log10)
  let mantissa = (10 ** (log10 - exponent)).toFixed(1)
  if (mantissa === '10.0') {
    mantissa = '1.0'
    exponent += 1
  }
  return `${mantissa}e${exponent}`
}

const round = (x: number, digits = 3) => String(Number(x.toFixed(digits)))

/** Red/green schemes score 0 or 1 per token; Gumbel and SynthID scores are continuous. */
function isRedGreen(d: Detection, tokens: TokenScore[]) {
  if (RED_GREEN.test(d.scheme)) return true
  if (CONTINUOUS.test(d.scheme)) return false
  return tokens.every((t) => t.score === null || t.score === 0 || t.score === 1)
}

/**
 * A score's position on [0, 1] for the colour scale: Gumbel scores are Exp(1) under no watermark,
 * so 1 − e^(−s) is their null quantile; SynthID's mean g-values already lie in [0, 1].
 */
function shade(scheme: string, score: number) {
  const t = /gumbel/.test(scheme) ? 1 - Math.exp(-score) : Math.min(1, Math.max(0, score))
  // Hue 0 (red) to 130 (green) at a lightness that keeps dark text above 7:1 contrast.
  return `hsl(${Math.round(t * 130)} 70% 84%)`
}

function tokenSpan(d: Detection, t: TokenScore, redGreen: boolean) {
  const text = t.text ?? `⟨${t.token}⟩`
  if (t.score === null || !t.counted)
    return h('span', { class: 'tok skip', title: `token ${t.token}: not counted` }, text)
  const title = `token ${t.token}: score ${round(t.score)}`
  if (redGreen) return h('span', { class: `tok ${t.score >= 1 ? 'green' : 'red'}`, title }, text)
  const span = h('span', { class: 'tok', title }, text)
  span.style.background = shade(d.scheme, t.score)
  return span
}

function legend(redGreen: boolean) {
  const item = (cls: string, label: string) => h('li', {}, h('span', { class: `tok ${cls}` }, label))
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    redGreen ? item('green', 'green token') : item('scale', 'low score → high score'),
    redGreen ? item('red', 'red token') : null,
    item('skip', 'not counted (no context yet or repeated context)'),
  )
}

/** One line for a status region: the verdict and its p-value. */
export const summary = (d: Detection) =>
  `${d.watermarked ? 'Watermarked' : 'Not watermarked'}${d.logPValue === undefined ? '' : `: p = ${formatP(d.logPValue)}`} (${d.scheme}, key ${d.keyId})`

export function renderDetection(d: Detection): HTMLElement {
  const perToken = d.perToken ?? []
  const redGreen = isRedGreen(d, perToken)
  const stat = (term: string, value: string) => [h('dt', {}, term), h('dd', {}, value)]
  return h(
    'section',
    { class: 'result', 'aria-label': 'Detection result' },
    h(
      'p',
      {
        class: `verdict ${d.watermarked ? 'yes' : 'no'}`,
        'data-verdict': d.watermarked ? 'watermarked' : 'not-watermarked',
        ...(d.logPValue === undefined ? {} : { 'data-log-p': d.logPValue }),
      },
      d.watermarked ? 'Watermarked' : 'Not watermarked',
    ),
    h(
      'dl',
      { class: 'stats' },
      // Verdict-only API keys get no numbers (docs/security.md): say so rather than show blanks.
      ...(d.logPValue === undefined
        ? stat('detail', 'verdict only for this API key')
        : stat('p-value', formatP(d.logPValue))),
      ...(d.threshold === undefined ? [] : stat('threshold', `p ≤ ${formatP(Math.log(d.threshold))}`)),
      ...(d.zScore === undefined ? [] : stat('z-score', round(d.zScore, 2))),
      ...(d.statistic === undefined ? [] : stat('statistic', round(d.statistic))),
      ...stat('tokens scored', d.scored === undefined ? `${d.tokens} tokens` : `${d.scored} of ${d.tokens}`),
      ...stat('scheme', d.scheme),
      ...stat('key', d.keyId),
    ),
    perToken.length ? legend(redGreen) : null,
    perToken.length
      ? h(
          'p',
          { class: 'tokens', 'aria-label': 'Tokens coloured by score' },
          ...perToken.map((t) => tokenSpan(d, t, redGreen)),
        )
      : null,
  )
}
