import { describe, expect, it } from 'vitest'
import type { CellInfo, PrefixDetection, SampleRow, SampleVariant } from '../experiments/types.ts'
import { seededRng } from '../rng.ts'
import { summarizeExperiment } from './summarize.ts'

const LENGTHS = [16, 32, 64]
const cells: CellInfo[] = [
  { cell: 0, scheme: 'kgw', params: { gamma: 0.25 }, keyLabel: 'kgw(gamma=0.25)#1' },
  { cell: 1, scheme: 'gumbel', params: {}, keyLabel: 'gumbel#1' },
]

/** Detections at every length ≤ the text's, plus the whole text; ln p scales with the prefix. */
function detections(tokens: number, wholeLogP: number): PrefixDetection[] {
  const at = [...LENGTHS.filter((t) => t < tokens), tokens]
  return at.map((t) => ({ tokens: t, scored: t, logPValue: (wholeLogP * t) / tokens, statistic: 0 }))
}

function row(
  sample: number,
  cell: number,
  variant: SampleVariant,
  attack: string,
  tokens: number,
  logP: number,
  extra: Partial<SampleRow> = {},
): SampleRow {
  return {
    sample,
    cell,
    attack,
    variant,
    text: `text ${sample} ${variant}`,
    tokens,
    detections: detections(tokens, logP),
    perplexity: null,
    editFraction: attack === 'none' ? null : 0.3,
    ...extra,
  }
}

/**
 * Per cell and sample: watermarked ln p ≈ −30 (every 10th text stops early at 40 tokens), an
 * attacked copy at ≈ −8, and unwatermarked and human texts with p uniform on (0, 1].
 */
function synthetic(samples: number, seed: number): SampleRow[] {
  const rng = seededRng(seed)
  const rows: SampleRow[] = []
  const words = ['the', 'a', 'cat', 'dog', 'saw', 'ran', 'far', 'home', 'and', 'then']
  const text = () => Array.from({ length: 30 }, () => words[Math.floor(rng() * words.length)]).join(' ')
  for (const { cell } of cells) {
    for (let s = 0; s < samples; s++) {
      const tokens = s % 10 === 9 ? 40 : 64
      const ppl = 10 + 0.5 * Math.floor(rng() * 20)
      rows.push(
        row(s, cell, 'watermarked', 'none', tokens, -30 + 2 * rng(), { perplexity: ppl + 2, text: text() }),
        row(s, cell, 'watermarked', 'word-deletion@0.3', 48, -8 + 4 * rng()),
        row(s, cell, 'unwatermarked', 'none', 64, Math.log(1 - rng()), { perplexity: ppl, text: text() }),
        row(s, cell, 'human', 'none', 64, Math.log(1 - rng())),
      )
    }
  }
  return rows
}

describe('summarizeExperiment on synthetic rows', () => {
  const rows = synthetic(5_000, 42)
  const options = { targetFprs: [0.01, 0.001, 1e-5], lengths: LENGTHS, seed: 7, resamples: 300 }
  const m = summarizeExperiment(cells, rows, options)

  it('detects the unattacked watermark at every α and length, counting only long enough texts', () => {
    const none = m.detection.find((d) => d.cell === 0 && d.attack === 'none')!
    expect(none.samples).toBe(5_000)
    expect(none.editFraction).toBeNull()
    expect(none.tprByLength).toHaveLength(LENGTHS.length * 3)
    for (const p of none.tprByLength) {
      expect(p.n).toBe(p.tokens === 64 ? 4_500 : 5_000) // every 10th text has 40 tokens
      if (p.tokens === 16 && p.alpha === 1e-5) {
        // ln p at T = 16 is (16/64)·[−30, −28] ≥ −7.5 > ln 1e-5 = −11.5 for 64-token texts; for the
        // 40-token tenth it is (16/40)·[−30, −28], below −11.5 with probability 0.61 → TPR ≈ 0.061.
        expect(p.tpr.value).toBeGreaterThan(0.045)
        expect(p.tpr.value).toBeLessThan(0.08)
        expect(p.tpr.ci!.low).toBeLessThan(p.tpr.value)
      } else {
        expect(p.tpr).toEqual({ value: 1, ci: { low: 1, high: 1 } })
      }
    }
    expect(none.auc.vsUnwatermarked).toEqual({ value: 1, ci: { low: 1, high: 1 } })
    expect(none.auc.vsHuman.value).toBe(1)
  })

  it('holds the empirical FPR near α on 5,000 null texts', () => {
    for (const f of m.falsePositives) {
      for (const kind of [f.human, f.unwatermarked]) {
        const at = kind.find((e) => e.alpha === 0.01)!
        expect(at.n).toBe(5_000)
        expect(at.verifiable).toBe(true)
        // Binomial(5000, 0.01): sd = √(5000 · 0.01 · 0.99) ≈ 7.0 texts; 4 sd = 0.0056 in rate.
        expect(Math.abs(at.fpr.value - 0.01)).toBeLessThan(0.0056)
        expect(at.fpr.ci!.low).toBeLessThanOrEqual(at.fpr.value)
        expect(at.fpr.ci!.high).toBeGreaterThanOrEqual(at.fpr.value)
        expect(kind.find((e) => e.alpha === 0.001)!.verifiable).toBe(true)
        expect(kind.find((e) => e.alpha === 1e-5)!.verifiable).toBe(false)
      }
    }
  })

  it('measures the attack, and notes what a reviewer must know', () => {
    const attacked = m.detection.find((d) => d.cell === 1 && d.attack === 'word-deletion@0.3')!
    expect(attacked.editFraction).toBeCloseTo(0.3, 12)
    const whole = attacked.tprByLength.filter((p) => p.tokens === 64)
    expect(whole.every((p) => p.n === 0 && p.tpr.ci === null)).toBe(true) // 48-token texts
    // ln p ≈ −8 + 4U at 48 tokens: ln 0.01 = −4.6 is crossed with probability (−4.6 + 8)/4 ≈ 0.85
    const row = m.comparison.find((c) => c.cell === 1 && c.attack === 'word-deletion@0.3')!
    expect(row.tpr[0].value).toBeGreaterThan(0.8)
    expect(row.tpr[0].value).toBeLessThan(0.9)
    expect(row.perplexityDifference).toBeNull()
    expect(attacked.auc.vsHuman.value).toBeGreaterThan(0.99)
    // The table carries both AUCs with their bootstrap intervals, the detection metrics' own.
    expect(row.auc).toEqual(attacked.auc)
    expect(row.aucVsHuman).toBe(attacked.auc.vsHuman.value)
    for (const e of [row.auc.vsHuman, row.auc.vsUnwatermarked]) {
      expect(e.ci).not.toBeNull()
      expect(e.ci!.low).toBeLessThanOrEqual(e.value)
      expect(e.ci!.high).toBeGreaterThanOrEqual(e.value)
    }
    expect(m.notes).toContain(
      'α = 1e-5: 5,000 null texts per cell (at most, human or unwatermarked) cannot verify it (needs ≥ 300,000); its FPR is reported but unverified.',
    )
    expect(
      m.notes.some((n) => n.startsWith('T = 64, attack none: 1,000 of 10,000 watermarked texts are shorter')),
    ).toBe(true)
  })

  it('reports quality with a paired perplexity difference', () => {
    const q = m.quality[0]
    expect(q.perplexity.difference).toEqual({ value: 2, ci: { low: 2, high: 2 } })
    expect(q.perplexity.watermarked.value - q.perplexity.unwatermarked.value).toBeCloseTo(2, 10)
    expect(q.distinct.watermarked[0]).toBeCloseTo(10 / 150_000, 12) // 10 words in 5,000 × 30
    expect(q.logDiversity.watermarked.value).toBeGreaterThan(0)
    expect(m.comparison.find((c) => c.cell === 0 && c.attack === 'none')!.perplexityDifference).toBe(2)
  })

  it('keeps ROC curves short, the comparison complete, and is deterministic', () => {
    expect(m.comparison.map((c) => `${c.cell}/${c.attack}`)).toEqual([
      '0/none',
      '0/word-deletion@0.3',
      '1/none',
      '1/word-deletion@0.3',
    ])
    for (const d of m.detection) {
      for (const curve of [d.roc.vsHuman, d.roc.vsUnwatermarked]) {
        expect(curve.length).toBeLessThanOrEqual(200)
        expect(curve[0]).toEqual({ fpr: 0, tpr: 0 })
        expect(curve[curve.length - 1]).toEqual({ fpr: 1, tpr: 1 })
      }
    }
    const again = summarizeExperiment(cells, [...rows].reverse(), options)
    expect(again).toEqual(m)
    const otherSeed = summarizeExperiment(cells, rows, { ...options, seed: 8 })
    expect(otherSeed.falsePositives[0].human[0].fpr.ci).not.toEqual(m.falsePositives[0].human[0].fpr.ci)
  })
})

describe('summarizeExperiment on degenerate input', () => {
  // One usable watermarked row, one with no detection, nothing else; a cell without rows; a row
  // for a cell outside the grid; every perplexity null.
  const rows: SampleRow[] = [
    row(0, 0, 'watermarked', 'none', 20, -1000),
    { ...row(1, 0, 'watermarked', 'none', 20, -5), detections: [] },
    row(0, 9, 'human', 'none', 20, -1),
  ]
  const m = summarizeExperiment(cells, rows, { targetFprs: [0.01, 1e-5], lengths: [16, 64], seed: 1 })

  it('round-trips through JSON exactly (no NaN, no Infinity)', () => {
    const json = JSON.stringify(m)
    expect(JSON.parse(json)).toEqual(m)
    expect(JSON.stringify(JSON.parse(json))).toBe(json)
  })

  it('uses the documented fallbacks and says so', () => {
    const d = m.detection[0]
    expect(d.samples).toBe(1)
    expect(d.auc.vsHuman).toEqual({ value: 0.5, ci: null })
    expect(d.tprByLength.find((p) => p.tokens === 16 && p.alpha === 0.01)).toEqual({
      tokens: 16,
      alpha: 0.01,
      tpr: { value: 1, ci: null },
      n: 1,
    })
    expect(m.falsePositives[1].human[0]).toEqual({
      alpha: 0.01,
      fpr: { value: 0, ci: null },
      n: 0,
      verifiable: false,
    })
    expect(m.quality[0].perplexity.watermarked).toEqual({ value: 0, ci: null })
    expect(m.comparison[0].perplexityDifference).toBeNull()
    expect(m.comparison[0].auc.vsHuman).toEqual({ value: 0.5, ci: null })
    expect(m.computedAt).toBe('1970-01-01T00:00:00.000Z')
    const joined = m.notes.join('\n')
    for (const fragment of [
      '1 rows name cells outside the grid (9)',
      'no usable whole-text p-value',
      'AUC vs human is undefined for cells 0',
      'No usable watermarked perplexity for cells 0, 1',
      'α = 0.01: 0 null texts per cell',
      'T = 64, attack none: 1 of 1 watermarked texts are shorter',
    ]) {
      expect(joined).toContain(fragment)
    }
  })

  it('validates its options', () => {
    expect(() => summarizeExperiment(cells, [], { targetFprs: [0], lengths: [16], seed: 1 })).toThrow(/alpha/)
    expect(() => summarizeExperiment(cells, [], { targetFprs: [0.01], lengths: [0], seed: 1 })).toThrow(
      /lengths/,
    )
    expect(() =>
      summarizeExperiment(cells, [], { targetFprs: [0.01], lengths: [16], seed: 1, confidence: 2 }),
    ).toThrow(/confidence/)
  })
})
