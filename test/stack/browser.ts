// Lab UI (worker/ui) in headless Chromium against a running lab. The integrator's test file starts
// the stack once (scripts/lab.ts) and calls registerBrowserTests with its dev.json; nothing here
// starts services. Each flow saves a full-page screenshot to test-artifacts/ (also on failure) and
// fails on any page error or console error, and on any form control without a label.
import { mkdirSync, readFileSync } from 'node:fs'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

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

    async function chooseKey(page: Page) {
      const select = page.getByLabel('Watermark key')
      await expect.poll(() => select.locator(`option[value="${lab().keyId}"]`).count()).toBe(1)
      await select.selectOption(lab().keyId)
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

    it('generate: streamed text, then a watermarked verdict for the dev key', {
      timeout: 180_000,
    }, async () => {
      await withPage('generate', '#/generate', async (page) => {
        await page.getByLabel('Prompt').fill('The jury said')
        await chooseKey(page)
        await page.getByLabel('Max tokens').fill('200')
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

    it('experiment: created from JSON, progress to completion, plots and table', {
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
        expect(readFileSync((await csv.path())!, 'utf8').length).toBeGreaterThan(0)
      })
    })
  })
}
