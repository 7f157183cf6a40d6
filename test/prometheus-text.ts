// Prometheus text exposition → { 'name{labels}': value }, labels as the exposition writes them: a
// deliberately small parser for tests that assert on /metrics (HELP/TYPE lines skipped).
export function parseSamples(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    out[line.slice(0, i)] = Number(line.slice(i + 1))
  }
  return out
}
