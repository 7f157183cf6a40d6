// The CLI in process for tests: `main` with its output captured, parsed as the JSON it prints.
import { main } from './main.ts'

/** Runs `wmlab ...argv`; `out` / `err` are stdout / stderr parsed as JSON (undefined when empty). */
export async function runCli(...argv: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await main(
    argv,
    (s) => (stdout += s),
    (s) => (stderr += s),
  )
  return {
    code,
    out: stdout ? JSON.parse(stdout) : undefined,
    err: stderr ? JSON.parse(stderr) : undefined,
    stdout,
  }
}
