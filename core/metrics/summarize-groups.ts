/**
 * @module
 * Sorting an experiment's sample rows into per-cell groups for the summariser: the watermarked
 * rows of each attack, and the null rows (unwatermarked, human) that every attack of the cell is
 * measured against.
 */
import type { CellInfo, SampleRow } from '../experiments/types.ts'
import { formatCount, formatList } from './summarize-notes.ts'

/** A row with its whole-text ln p and length (the last detection), or null when unusable. */
export interface ScoredRow {
  row: SampleRow
  logP: number | null
  tokens: number
}

export interface CellGroup {
  info: CellInfo
  /** Watermarked rows per attack label, attacks in {@link compareAttacks} order. */
  watermarked: Map<string, ScoredRow[]>
  unwatermarked: ScoredRow[]
  human: ScoredRow[]
}

/** Groups rows by cell (in the order of `cells`) and records what had to be left out. */
export function groupRows(
  cells: readonly CellInfo[],
  rows: readonly SampleRow[],
  notes: string[],
): CellGroup[] {
  const byCell = new Map<number, CellGroup>()
  for (const info of cells) {
    byCell.set(info.cell, { info, watermarked: new Map(), unwatermarked: [], human: [] })
  }
  const unknownCells = new Set<number>()
  let unknownRows = 0
  let attackedNulls = 0
  let unusable = 0
  for (const row of rows) {
    const group = byCell.get(row.cell)
    if (group === undefined) {
      unknownCells.add(row.cell)
      unknownRows++
      continue
    }
    if (row.variant !== 'watermarked' && row.attack !== 'none') {
      attackedNulls++
      continue
    }
    const scored = scoreRow(row)
    if (scored.logP === null) unusable++
    if (row.variant === 'watermarked') {
      const list = group.watermarked.get(row.attack)
      if (list === undefined) group.watermarked.set(row.attack, [scored])
      else list.push(scored)
    } else if (row.variant === 'unwatermarked') {
      group.unwatermarked.push(scored)
    } else {
      group.human.push(scored)
    }
  }
  // Rows arrive in whatever order storage returns them; sorting by sample makes every bootstrap
  // stream see the same units in the same order.
  const bySample = (a: ScoredRow, b: ScoredRow) => a.row.sample - b.row.sample
  for (const group of byCell.values()) {
    group.watermarked = new Map(
      [...group.watermarked].sort(([a], [b]) => compareAttacks(a, b)).map(([k, v]) => [k, v.sort(bySample)]),
    )
    group.unwatermarked.sort(bySample)
    group.human.sort(bySample)
  }
  if (unknownRows > 0) {
    notes.push(
      `${formatCount(unknownRows)} rows name cells outside the grid ` +
        `(${formatList([...unknownCells].sort((a, b) => a - b))}) and were ignored.`,
    )
  }
  if (attackedNulls > 0) {
    notes.push(`${formatCount(attackedNulls)} unwatermarked or human rows carry an attack and were ignored.`)
  }
  if (unusable > 0) {
    notes.push(
      `${formatCount(unusable)} rows have no usable whole-text p-value (no detection, or NaN) and are left ` +
        'out of the detection metrics (quality metrics still use their text).',
    )
  }
  return [...byCell.values()]
}

function scoreRow(row: SampleRow): ScoredRow {
  const last = row.detections[row.detections.length - 1]
  if (last === undefined || Number.isNaN(last.logPValue)) return { row, logP: null, tokens: row.tokens }
  return { row, logP: last.logPValue, tokens: last.tokens }
}

/**
 * 'none' first, then attacks by name and numeric strength ('word-deletion@0.3' before
 * 'word-deletion@0.25' is wrong as strings, right as numbers).
 */
export function compareAttacks(a: string, b: string): number {
  if (a === b) return 0
  if (a === 'none') return -1
  if (b === 'none') return 1
  const [nameA, strengthA] = splitLabel(a)
  const [nameB, strengthB] = splitLabel(b)
  if (nameA !== nameB) return nameA < nameB ? -1 : 1
  if (strengthA !== strengthB && !Number.isNaN(strengthA) && !Number.isNaN(strengthB)) {
    return strengthA - strengthB
  }
  return a < b ? -1 : 1
}

function splitLabel(label: string): [string, number] {
  const at = label.lastIndexOf('@')
  return at < 0 ? [label, Number.NaN] : [label.slice(0, at), Number(label.slice(at + 1))]
}

/** ln p at a prefix of exactly `tokens` tokens; 'short' when the text is shorter, 'missing' when absent. */
export function logPAt(scored: ScoredRow, tokens: number): number | 'short' | 'missing' {
  if (scored.tokens < tokens) return 'short'
  for (const d of scored.row.detections) {
    if (d.tokens === tokens) return Number.isNaN(d.logPValue) ? 'missing' : d.logPValue
    if (d.tokens > tokens) break
  }
  return 'missing'
}
