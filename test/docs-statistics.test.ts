// docs/statistics.md and the README against the code they describe: the rule-of-three table is
// nullsNeeded's, the notes quoted for the small example are the ones verifiabilityNotes writes for it,
// and the claims about which levels one experiment can verify hold for the spec's bounds.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ExperimentSpecSchema, gridCells, MAX_JOBS } from '../core/experiments/spec.ts'
import type { FprEstimate } from '../core/experiments/types.ts'
import { nullsNeeded, verifiable } from '../core/metrics/detection.ts'
import { verifiabilityNotes } from '../core/metrics/summarize-notes.ts'

const doc = readFileSync('docs/statistics.md', 'utf8')
const readme = readFileSync('README.md', 'utf8')
const section = doc.slice(
  doc.indexOf('## Experiments: which false-positive rates'),
  doc.indexOf('## Calibration on human text'),
)
const example = ExperimentSpecSchema.parse(JSON.parse(readFileSync('examples/experiment-small.json', 'utf8')))

/** Every cell with `human` and `unwatermarked` null texts at each α (the rates do not matter here). */
const fprs = (alphas: number[], cells: { human: number; unwatermarked: number }[]) =>
  cells.map((n, cell) => {
    const at = (count: number): FprEstimate[] =>
      alphas.map((alpha) => ({
        alpha,
        fpr: { value: 0, ci: null },
        n: count,
        verifiable: verifiable(count, alpha),
      }))
    return { cell, human: at(n.human), unwatermarked: at(n.unwatermarked) }
  })

const parseAlpha = (s: string) => (s.endsWith('%') ? Number(s.slice(0, -1).trim()) / 100 : Number(s))
const parseCount = (s: string) => Number(s.replaceAll(',', ''))

describe('docs/statistics.md: which FPR levels a sample size can verify', () => {
  it('states nullsNeeded(α) for 1 %, 0.1 % and 1e-5', () => {
    const rows = [...section.matchAll(/^\| ([\d.e%\- ]+?) +\| ([\d,]+) +\|$/gm)].map((m) => [
      parseAlpha(m[1]),
      parseCount(m[2]),
    ])
    expect(rows.map(([alpha]) => alpha)).toEqual([0.01, 0.001, 1e-5])
    for (const [alpha, n] of rows) expect(n, `α = ${alpha}`).toBe(nullsNeeded(alpha))
  })

  it('quotes, verbatim, the notes the small example gets: it verifies none of its levels', () => {
    const cells = gridCells(example).map(() => ({ human: example.samples, unwatermarked: example.samples }))
    const notes = verifiabilityNotes(example.targetFprs, fprs(example.targetFprs, cells))
    expect(notes).toHaveLength(example.targetFprs.length)
    for (const note of notes) expect(section).toContain(`- ${note}\n`)
    expect(section).toContain(`${example.samples} samples per cell`)
    // 0 of 20: the exact one-sided 95 % bound the text gives.
    expect(section).toContain(`below ${((1 - 0.05 ** (1 / example.samples)) * 100).toFixed(1)} %`)
  })

  it('describes the rule as the code applies it: human or unwatermarked, failing cells listed', () => {
    const alphas = [0.01, 0.001]
    // Human texts alone verify 1 % in cell 0; cell 1 fails it; nobody verifies 0.1 %.
    const notes = verifiabilityNotes(
      alphas,
      fprs(alphas, [
        { human: 300, unwatermarked: 20 },
        { human: 299, unwatermarked: 299 },
      ]),
    )
    expect(notes).toEqual([
      'α = 0.01: cells 1 have too few null texts to verify it (needs ≥ 300).',
      'α = 0.001: 300 null texts per cell (at most, human or unwatermarked) cannot verify it (needs ≥ 3,000); its FPR is reported but unverified.',
    ])
    expect(verifiabilityNotes(alphas, fprs(alphas, [{ human: 0, unwatermarked: 3_000 }]))).toEqual([])
    expect(section).toMatch(/human \*\*or\*\* its\s+unwatermarked set/)
  })

  it('is right that one experiment can verify 1 % but not 0.1 %', () => {
    const most = (samples: number) =>
      ExperimentSpecSchema.safeParse({ ...example, samples, attacks: [] }).success
    expect(most(2_000)).toBe(true)
    expect(most(2_001)).toBe(false)
    expect(section).toContain('at most 2,000 samples per cell')
    expect(section).toContain(`${MAX_JOBS.toLocaleString('en-US')} jobs`)
    expect(verifiable(2_000, 0.01)).toBe(true)
    expect(verifiable(2_000, 0.001)).toBe(false)
  })

  it('README says the same in its Experiments section', () => {
    const experiments = readme.slice(readme.indexOf('## Experiments'), readme.indexOf('## The edge API'))
    expect(experiments).toMatch(/n ≥ 3\/α/)
    for (const n of [nullsNeeded(0.01), nullsNeeded(0.001), nullsNeeded(1e-5)])
      expect(experiments).toContain(n.toLocaleString('en-US'))
    expect(experiments).toMatch(/small\s+example \(20 samples per cell\) verifies none/)
  })
})
