// wmlab tokenize: ids as a JSON array, the same from the fast encoder and from --reference.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from './test-support.ts'

const run = runCli

const TEXT =
  "Hello world, this is a test.\n\n<|im_end|> It's 2025 \u2014 caf\u00e9 \u4e16\u754c \u{1f468}\u200d\u{1f469} \ud800   x"

describe('wmlab tokenize', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'wmlab-tokenize-')), 'text.txt')
  writeFileSync(file, TEXT)

  it.each(['qwen3', 'llama3'])('%s: prints ids; --reference prints the same', async (id) => {
    const fast = await run('tokenize', '--tokenizer', id, '--text-file', file)
    const ref = await run('tokenize', '--tokenizer', id, '--text-file', file, '--reference')
    expect(fast.code).toBe(0)
    expect(ref.code).toBe(0)
    expect(Array.isArray(fast.out)).toBe(true)
    expect(fast.out.length).toBeGreaterThan(10)
    expect(fast.out).toEqual(ref.out)
    expect((await run('tokenize', '--tokenizer', id, '--text', 'Hello world, this is a test.')).out).toEqual(
      id === 'qwen3' ? [9707, 1879, 11, 419, 374, 264, 1273, 13] : [9906, 1917, 11, 420, 374, 264, 1296, 13],
    )
  })

  it('reports bad input with exit code 2', async () => {
    const unknown = await run('tokenize', '--tokenizer', 'gpt2', '--text', 'x')
    expect(unknown.code).toBe(2)
    expect(unknown.err.error.code).toBe('unknown_tokenizer')
    expect((await run('tokenize', '--text', 'x')).err.error.code).toBe('missing_option')
    expect(
      (await run('tokenize', '--tokenizer', 'qwen3', '--text-file', '/nonexistent/x')).err.error.code,
    ).toBe('file_not_readable')
  })
})
