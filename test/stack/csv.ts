// The experiment export as the stack tests read it: RFC 4180 CSV parsed into records, and the
// whole-text rates and AUCs recomputed from it independently of core/metrics, so a results page or a
// metrics JSON can be checked against the exported rows.

/** RFC 4180: quoted fields may hold commas, quotes ("") and newlines (texts do). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  const endField = () => {
    row.push(field)
    field = ''
  }
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') endField()
    else if (ch === '\n') {
      endField()
      rows.push(row)
      row = []
    } else field += ch
  }
  if (field || row.length) {
    endField()
    rows.push(row)
  }
  return rows
}

/** One exported row, by column name. */
export type ExportRecord = Record<string, string>

export function csvRecords(text: string): ExportRecord[] {
  const [header, ...rows] = parseCsv(text)
  return rows.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i]])))
}

/** Whole-text ln p of the records that have one. */
export const logPs = (records: readonly ExportRecord[]) =>
  records.filter((r) => r.log_p_value !== '').map((r) => Number(r.log_p_value))

/** Share of ln p values ≤ ln α (the detector's rule, p ≤ α); 0 for none. */
export const rejectRate = (values: readonly number[], alpha: number) =>
  values.length === 0 ? 0 : values.filter((v) => v <= Math.log(alpha)).length / values.length

/** Mann–Whitney AUC of watermarked against null texts by −ln p, ties counted one half. */
export function mannWhitneyAuc(positives: readonly number[], negatives: readonly number[]): number {
  let wins = 0
  for (const p of positives) for (const n of negatives) wins += -p > -n ? 1 : -p === -n ? 0.5 : 0
  return wins / (positives.length * negatives.length)
}
