// SynthID is distortion-free per token (2 leaves), so its power depends on entropy: report the
// detection rate against length, and check it is consistent (grows with length, wrong key silent).
import { describe, expect, it } from 'vitest'
import { powerRun } from './power.ts'

describe.each([
  ['2025', 2],
  ['table', 2],
  ['table', 3],
] as const)('power of synthid (hash %s, %i leaves)', (hash, numLeaves) => {
  it('reports detection rate at p < 1e-3 and 1e-6 against length', { timeout: 240_000 }, () => {
    // V = 256 keeps the 2025 hash's V × 30-layer g-values per step affordable in the JS reference.
    const rows = powerRun('synthid', { hash, numLeaves }, [10, 25, 50, 100, 200], 30, 256)
    for (const r of rows) console.log(JSON.stringify({ hash, numLeaves, ...r }))
    for (let i = 1; i < rows.length; i++) expect(rows[i].medianLog10P).toBeLessThan(rows[i - 1].medianLog10P)
    expect(rows[rows.length - 1].rate1e6).toBeGreaterThanOrEqual(0.9)
    for (const r of rows) expect(r.wrongKeyRate1e3).toBeLessThanOrEqual(1 / 30)
  })
})
