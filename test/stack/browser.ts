// Lab UI (worker/ui) in headless Chromium against a running lab. The integrator's test file starts
// the stack once (scripts/lab.ts) and calls registerBrowserTests with its dev.json; nothing here
// starts services. Each flow saves a full-page screenshot to test-artifacts/ (also on failure) and
// fails on any page error or console error, and on any form control without a label.
import { mkdirSync, readFileSync } from 'node:fs'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExperimentMetrics, Interval } from '../../core/experiments/types.ts'
import { csvRecords, type ExportRecord, logPs, mannWhitneyAuc, rejectRate } from './csv.ts'

export interface LabInfo {
  url: string
  apiKey: string
  keyId: string
  tenantId: string
  labDir: string
}

const ARTIFACTS = 'test-artifacts'
const TEXT =
  'The committee met on Tuesday to review the budget. Several members asked for more detail on ' +
  'the costs of the new library, and the chairman promised a full report before the next meeting.'
// Small on purpose: 2 cells × 4 samples = 8 jobs of 32 tokens.
const SPEC = {
  name: 'browser e2e',
  grid: { schemes: [{ scheme: 'kgw-lefthash' }, { scheme: 'vllm-gumbel' }] },
  samples: 4,
  maxNewTokens: 32,
  attacks: [{ name: 'word-deletion', strength: 0.3 }],
  seed: 7,
}

/** Form controls that no label, aria-label or aria-labelledby names. */
const unlabelled = (page: Page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLInputElement>('input, select, textarea'))
      .filter(
        (el) =>
          el.type !== 'hidden' &&
          !el.labels?.length &&
          !el.getAttribute('aria-label') &&
          !el.getAttribute('aria-labelledby'),
      )
      .map((el) => el.outerHTML.slice(0, 120)),
  )

/** The hue (degrees) of a computed `rgb(r, g, b)` colour. */
function rgbHue(css: string): number {
  const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((x) => Number(x) / 255)
  const max = Math.max(r, g, b)
  const c = max - Math.min(r, g, b)
  if (c === 0) return Number.NaN
  const h = max === r ? ((g - b) / c) % 6 : max === g ? (b - r) / c + 2 : (r - g) / c + 4
  return (h * 60 + 360) % 360
}

/** The `td[data-col]` texts of each row of a results table, with the row's data attributes. */
const tableCells = (page: Page, table: string) =>
  page.locator(`[data-table="${table}"] tbody tr`).evaluateAll((trs: HTMLTableRowElement[]) =>
    trs.map((tr) => ({
      row: { ...tr.dataset },
      samples: tr.cells[3]?.textContent ?? '',
      cols: Object.fromEntries(
        Array.from(tr.querySelectorAll<HTMLElement>('td[data-col]')).map((td) => [
          td.dataset.col!,
          td.textContent ?? '',
        ]),
      ),
    })),
  )

/** A shown number (the text's first): the page rounds to `digits` decimals. */
function expectShown(text: string | undefined, value: number, digits: number, what: string) {
  expect(text, what).toBeDefined()
  expect(
    Math.abs(Number.parseFloat(text!) - value),
    `${what}: shown "${text}", export gives ${value}`,
  ).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-9)
}

/** The interval as the page prints it (3 decimals), or no brackets when the API has none. */
function expectInterval(text: string, ci: Interval | null, what: string) {
  if (ci) expect(text, what).toContain(`[${ci.low.toFixed(3)}, ${ci.high.toFixed(3)}]`)
  else expect(text, what).not.toContain('[')
}

/**
 * The results page against the exported rows: every TPR, AUC, FPR and perplexity difference it
 * shows is recomputed from the CSV (whole texts, reject when p ≤ α, Mann–Whitney AUC); the
 * intervals it prints are those of GET /v1/experiments/:id.
 */
async function expectTablesMatchExport(page: Page, id: string, records: ExportRecord[], lab: LabInfo) {
  const res = await fetch(`${lab.url}/v1/experiments/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${lab.apiKey}` },
  })
  const metrics = ((await res.json()) as { metrics: ExperimentMetrics }).metrics
  // 8 jobs, each: watermarked, word-deletion, unwatermarked and human text.
  expect(records).toHaveLength(8 * 4)
  const pick = (cell: number, attack: string, variant: string) =>
    records.filter((r) => Number(r.cell) === cell && r.attack === attack && r.variant === variant)

  const comparison = await tableCells(page, 'comparison')
  expect(comparison).toHaveLength(metrics.comparison.length)
  for (const shown of comparison) {
    const cell = Number(shown.row.cell)
    const attack = shown.row.attack!
    const what = `cell ${cell}, ${attack}`
    const wm = logPs(pick(cell, attack, 'watermarked'))
    const human = logPs(pick(cell, 'none', 'human'))
    const plain = logPs(pick(cell, 'none', 'unwatermarked'))
    expect(Number(shown.samples), what).toBe(wm.length)
    for (const alpha of metrics.targetFprs)
      expectShown(shown.cols[`tpr@${alpha}`], rejectRate(wm, alpha), 3, `${what}: TPR at α = ${alpha}`)
    expectShown(shown.cols['auc-human'], mannWhitneyAuc(wm, human), 3, `${what}: AUC vs human`)
    expectShown(
      shown.cols['auc-unwatermarked'],
      mannWhitneyAuc(wm, plain),
      3,
      `${what}: AUC vs unwatermarked`,
    )
    const api = metrics.comparison.find((r) => r.cell === cell && r.attack === attack)!
    expectInterval(shown.cols['auc-human'], api.auc.vsHuman.ci, `${what}: AUC vs human interval`)
    expectInterval(shown.cols['auc-unwatermarked'], api.auc.vsUnwatermarked.ci, `${what}: AUC interval`)
    if (attack === 'none') {
      // Paired: samples whose watermarked and unwatermarked texts both have a perplexity.
      const ppl = (r: ExportRecord | undefined) =>
        r && r.perplexity !== '' ? Number(r.perplexity) : Number.NaN
      const diffs = pick(cell, 'none', 'watermarked')
        .map((w) => ppl(w) - ppl(pick(cell, 'none', 'unwatermarked').find((u) => u.sample === w.sample)))
        .filter(Number.isFinite)
      expect(diffs.length, what).toBeGreaterThan(0)
      expectShown(
        shown.cols['ppl-difference'],
        diffs.reduce((a, b) => a + b, 0) / diffs.length,
        2,
        `${what}: Δ perplexity`,
      )
    } else expect(shown.cols['ppl-difference'], what).toBe('–')
  }

  const fprs = await tableCells(page, 'false-positives')
  // Per cell: human and unwatermarked text.
  expect(fprs).toHaveLength(2 * metrics.falsePositives.length)
  for (const shown of fprs) {
    const cell = Number(shown.row.cell)
    const kind = shown.row.null!
    const nulls = logPs(pick(cell, 'none', kind))
    expect(nulls.length, `cell ${cell} ${kind}`).toBe(4)
    for (const alpha of metrics.targetFprs) {
      const text = shown.cols[`fpr@${alpha}`]
      const what = `cell ${cell}, ${kind}: FPR at α = ${alpha}`
      expectShown(text, rejectRate(nulls, alpha), 3, what)
      expect(text, what).toContain(`n = ${nulls.length}`)
      // 4 null texts verify no α (1 % needs 300): the page says so for every rate.
      expect(text, what).toContain('unverified')
    }
  }
}

export function registerBrowserTests(lab: () => LabInfo) {
  describe('Lab UI in headless Chromium', () => {
    let browser: Browser

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true })
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      })
    })
    afterAll(async () => {
      await browser?.close()
    })

    /** Opens the UI with `#key=`, goes to `hash`, runs `flow`, then checks errors and labels. */
    async function withPage(name: string, hash: string, flow: (page: Page) => Promise<void>) {
      const { url, apiKey } = lab()
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`))
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console error: ${m.text()}`)
      })
      try {
        await page.goto(`${url}/#key=${encodeURIComponent(apiKey)}`)
        // The key is stored and leaves the address bar (history, screenshots, shoulder surfers).
        await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/detect')
        expect(await page.evaluate(() => localStorage.getItem('wmlab.apiKey'))).toBe(apiKey)
        if (hash !== '#/detect')
          await page.evaluate((h) => {
            location.hash = h
          }, hash)
        await flow(page)
        expect(await unlabelled(page)).toEqual([])
        expect(errors).toEqual([])
      } finally {
        await page.screenshot({ path: `${ARTIFACTS}/ui-${name}.png`, fullPage: true }).catch(() => undefined)
        await page.close()
      }
    }

    async function chooseKey(page: Page, keyId = lab().keyId) {
      const select = page.getByLabel('Watermark key')
      await expect.poll(() => select.locator(`option[value="${keyId}"]`).count()).toBe(1)
      await select.selectOption(keyId)
    }

    it('detect: verdict, p-value and highlighted tokens', { timeout: 60_000 }, async () => {
      await withPage('detect', '#/detect', async (page) => {
        await page.getByLabel('Text', { exact: true }).fill(TEXT)
        await chooseKey(page)
        await page.getByRole('button', { name: 'Detect', exact: true }).click()
        const verdict = page.locator('[data-verdict]')
        await verdict.waitFor({ timeout: 30_000 })
        expect(await verdict.textContent()).toMatch(/watermarked/i)
        expect(await page.locator('.stats').textContent()).toContain(lab().keyId)
        expect(await page.locator('.tokens .tok').count()).toBeGreaterThan(10)
        expect(await page.locator('.tokens .tok:not(.skip)').count()).toBeGreaterThan(0)
        expect(await page.locator('.legend').textContent()).toContain('not counted')
      })
    })

    it('detect with a Gumbel key: a continuous colour scale, repeated contexts set apart', {
      timeout: 60_000,
    }, async () => {
      const { url, apiKey } = lab()
      const created = await fetch(`${url}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scheme: 'vllm-gumbel' }),
      })
      expect(created.status).toBe(201)
      const keyId = ((await created.json()) as { id: string }).id
      await withPage('detect-gumbel', '#/detect', async (page) => {
        // The second copy repeats the first one's contexts: de-duplication scores them once.
        await page.getByLabel('Text', { exact: true }).fill(`${TEXT} ${TEXT}`)
        await chooseKey(page, keyId)
        await page.getByRole('button', { name: 'Detect', exact: true }).click()
        await page.locator('[data-verdict]').waitFor({ timeout: 30_000 })
        const legend = await page.locator('.legend').textContent()
        expect(legend).toContain('low score → high score')
        expect(legend).not.toContain('green token')
        const tokens = await page.locator('.tokens .tok').evaluateAll((spans: HTMLElement[]) =>
          spans.map((s) => {
            const style = getComputedStyle(s)
            return {
              skip: s.classList.contains('skip'),
              redGreen: s.classList.contains('green') || s.classList.contains('red'),
              title: s.title,
              background: style.backgroundColor,
              color: style.color,
              decoration: style.textDecorationLine,
            }
          }),
        )
        const counted = tokens.filter((t) => !t.skip)
        const skipped = tokens.filter((t) => t.skip)
        expect(tokens.some((t) => t.redGreen)).toBe(false)
        expect(skipped.length, 'repeated contexts not counted').toBeGreaterThan(0.4 * tokens.length)
        expect(counted.length).toBeGreaterThan(10)
        // Each counted token's hue is its score's null quantile: 130 · (1 − e^(−s)) (red 0 → green 130).
        const hues = counted.map((t) => {
          const score = Number(/score (\S+)/.exec(t.title)![1])
          const hue = rgbHue(t.background)
          expect(
            Math.abs(hue - 130 * (1 - Math.exp(-score))),
            `${t.title}: ${t.background}`,
          ).toBeLessThanOrEqual(2.5)
          return hue
        })
        // Continuous: many shades across the scale, not two colours.
        expect(new Set(hues.map(Math.round)).size).toBeGreaterThan(5)
        expect(Math.max(...hues) - Math.min(...hues)).toBeGreaterThan(60)
        // Skipped tokens: no score colour, muted text, dotted underline; counted ones have neither.
        for (const t of skipped) {
          expect(t.background).toBe('rgba(0, 0, 0, 0)')
          expect(t.decoration).toContain('underline')
          expect(t.color).not.toBe(counted[0].color)
        }
        for (const t of counted) expect(t.decoration).not.toContain('underline')
      })
    })

    it('generate: streamed text, then a watermarked verdict for the dev key', {
      timeout: 180_000,
    }, async () => {
      await withPage('generate', '#/generate', async (page) => {
        await page.getByLabel('Prompt').fill('The jury said')
        await chooseKey(page)
        await page.getByLabel('Max tokens').fill('200')
        // The dev key is new in every fresh lab: without a floor the model may end the text too early
        // for the asserted length and p-value.
        await page.getByLabel('Min tokens').fill('100')
        // Counts DOM updates of the output: streamed text arrives in pieces, not at the end. (How many
        // pieces depends on how the network groups the origin's per-token events: at least two.)
        await page.evaluate(() => {
          const w = window as unknown as { updates: number }
          w.updates = 0
          new MutationObserver((records) => (w.updates += records.length)).observe(
            document.querySelector('.generated')!,
            { childList: true, characterData: true, subtree: true },
          )
        })
        await page.getByRole('button', { name: 'Generate' }).click()
        const verdict = page.locator('[data-verdict]')
        await verdict.waitFor({ timeout: 150_000 })
        expect(await page.evaluate(() => (window as unknown as { updates: number }).updates)).toBeGreaterThan(
          1,
        )
        expect((await page.locator('.generated').textContent())!.length).toBeGreaterThan(100)
        expect(await verdict.getAttribute('data-verdict')).toBe('watermarked')
        expect(Number(await verdict.getAttribute('data-log-p'))).toBeLessThan(Math.log(1e-4))
      })
    })

    it('experiment: created from JSON, progress to completion, plots, and tables that match the export', {
      timeout: 300_000,
    }, async () => {
      await withPage('experiment', '#/experiments', async (page) => {
        await page.getByLabel('Experiment spec (JSON)').fill(JSON.stringify(SPEC, null, 2))
        await page.getByRole('button', { name: 'Create from JSON' }).click()
        await page.waitForURL(/#\/experiments\/[^/]+$/, { timeout: 30_000 })
        const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2])
        const root = page.locator('[data-experiment]')
        const seen: number[] = []
        let status: string | null = null
        const deadline = Date.now() + 180_000
        for (;;) {
          status = await root.getAttribute('data-status')
          const [value, max] = await page
            .locator('progress')
            .evaluate((b: HTMLProgressElement) => [b.value, b.max])
          if (status) seen.push(value / max)
          if (status && status !== 'queued' && status !== 'running') break
          if (Date.now() > deadline) throw new Error(`not finished in 180 s: ${status} at ${seen.at(-1)}`)
          await page.waitForTimeout(500)
        }
        const failures = await root.locator('section[aria-label=Failures] td:last-child').allTextContents()
        expect(status, `failures: ${failures.join('; ')}`).toBe('completed')
        expect(seen.at(-1)).toBe(1)
        expect(new Set(seen).size, `progress seen: ${seen}`).toBeGreaterThan(1)
        expect(await root.locator('[role=status]').textContent()).toContain('8 of 8 jobs done')
        for (const kind of ['tpr', 'roc', 'hist', 'ppl'])
          await expect
            .poll(() => page.locator(`[data-plot="${kind}"] svg`).count(), { timeout: 30_000 })
            .toBeGreaterThan(0)
        const rows = await page
          .locator('[data-table="comparison"] tbody tr')
          .evaluateAll((trs: HTMLTableRowElement[]) =>
            trs.map((tr) => `${tr.cells[1].textContent} ${tr.cells[2].textContent}`).sort(),
          )
        // One row per cell × attack, the unattacked baseline ('none') included.
        expect(rows).toEqual([
          'kgw-lefthash none',
          'kgw-lefthash word-deletion@0.3',
          'vllm-gumbel none',
          'vllm-gumbel word-deletion@0.3',
        ])
        const [csv] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('button', { name: 'Export CSV' }).click(),
        ])
        expect(csv.suggestedFilename()).toBe(`${id}.csv`)
        await expectTablesMatchExport(page, id, csvRecords(readFileSync((await csv.path())!, 'utf8')), lab())
      })
    })
  })
}
