import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { loadVectors } from '../test/vectors.ts'
import { runCli } from './test-support.ts'

const torch = loadVectors('torch-synthid.json')
const vllm = loadVectors('vllm.json')

const run = runCli

describe('wmlab prf', () => {
  it('torch-mt19937 randperm and u32 match torch', async () => {
    for (const c of torch.randperm) {
      const r = await run('prf', '--prf', 'torch-mt19937', '--seed', c.manual_seed, '--randperm', String(c.n))
      expect(r.code).toBe(0)
      expect(r.out.randperm).toEqual(c.perm)
    }
    const c = torch.mt19937[0]
    expect((await run('prf', '--prf', 'torch-mt19937', '--seed', c.seed, '--u32', '5')).out.u32).toEqual(
      c.first_u32,
    )
  })
  it('philox words and derived keys match vLLM', async () => {
    for (const c of vllm.prf_words) {
      const r = await run(
        'prf',
        '--prf',
        'philox',
        '--key',
        c.key_str,
        `--context=${c.context.join(',')}`,
        '--token',
        String(c.token),
      )
      expect(r.out.word).toBe(c.word)
      expect(r.out.uniform).toBe(c.uniform)
    }
    const d = vllm.derive_watermark_key[1]
    expect((await run('prf', '--prf', 'philox', '--key', d.key_str, '--derive', d.domain)).out.derived).toBe(
      d.derived_str,
    )
  })
})

describe('wmlab greenlist and gvalues', () => {
  it('lefthash greenlists', async () => {
    for (const c of torch.kgw_lefthash.filter((x: any) => x.greenlist_first10)) {
      const r = await run(
        'greenlist',
        '--scheme',
        'kgw-lefthash',
        '--hash-key',
        c.hash_key,
        '--vocab',
        String(c.vocab),
        '--gamma',
        String(c.gamma),
        '--prev',
        String(c.prev_token),
        '--first',
        '10',
      )
      expect(r.out.seed).toBe(c.seed)
      expect(r.out.greenlist).toEqual(c.greenlist_first10)
    }
  })
  it('self-hash seeds with a context and candidate', async () => {
    const c = torch.hf_selfhash[0]
    const args = [
      'greenlist',
      '--scheme',
      'hf-selfhash',
      '--hash-key',
      c.hashing_key,
      '--vocab',
      String(c.vocab),
    ]
    const ctx = ['--context', c.sequence.slice(0, 3).join(','), '--candidate', String(c.sequence[3])]
    const cw4 = await run(...args, ...ctx, '--context-width', '4')
    expect(cw4.out.seed).toBe(c.context_width_4.seed)
    expect(typeof cw4.out.green).toBe('boolean')
    expect((await run(...args, ...ctx)).out.seed).toBe(c.context_width_1.seed) // HF's default context_width = 1
    const short = await run(...args, '--context', '5', '--candidate', '7', '--context-width', '4')
    expect(short.err.error.code).toBe('bad_option')
  })
  it('SynthID table g-values', async () => {
    const c = torch.synthid_table_variant[0]
    const r = await run(
      'gvalues',
      '--scheme',
      'synthid',
      '--hash',
      'table',
      '--keys',
      c.keys.join(','),
      '--ngram',
      c.ngram.join(','),
    )
    expect(r.out.gValues).toEqual(c.g_values)
    expect(r.out.contextHash).toBe(c.context_hash)
    expect(r.out.ngramHash).toBe(c.full_hash_h0_1)
  })
})

describe('wmlab detect', () => {
  it('token ids: reproduces the vLLM detector', async () => {
    const c = vllm.gumbel_detection[0]
    const r = await run(
      'detect',
      '--scheme',
      'vllm-gumbel',
      '--key',
      c.key_str,
      '--tokens',
      c.tokens.join(','),
      '--per-token',
    )
    expect(r.code).toBe(0)
    expect(r.out.scored).toBe(c.expected.num_scored_tokens)
    expect(r.out.pValue).toBeCloseTo(c.expected.p_value, 150)
    expect(r.out.watermarked).toBe(true)
    expect(r.out.perToken).toHaveLength(c.tokens.length)
  })
  it('text: normalises, tokenises and scores human text as not watermarked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wmlab-'))
    const file = join(dir, 'human.txt')
    writeFileSync(
      file,
      'The Fulton County Grand Jury said Friday an investigation of recent primary elections produced no evidence that any irregularities took place.\u200b',
    )
    const r = await run(
      'detect',
      '--scheme',
      'kgw-selfhash',
      '--tokenizer',
      'qwen3',
      '--text-file',
      file,
      '--per-token',
    )
    expect(r.code).toBe(0)
    expect(r.out.watermarked).toBe(false)
    expect(r.out.normalization.removedInvisible).toBe(1)
    expect(r.out.vocabSize).toBe(151936)
    expect(r.out.perToken.map((t: any) => t.text).join('')).toContain('Fulton County')
  })
})

describe('wmlab errors', () => {
  it.each([
    [['detect', '--scheme', 'nope', '--tokens', '1'], 'unknown_scheme'],
    [['detect', '--scheme', 'kgw-lefthash', '--tokens', '1,2'], 'missing_option'],
    [
      ['detect', '--scheme', 'vllm-gumbel', '--key', '1', '--tokens', '1,2', '--gamma', '2'],
      'invalid_params',
    ],
    [['detect', '--scheme', 'vllm-gumbel', '--key=-5', '--tokens', '1,2'], 'invalid_params'],
    [
      ['detect', '--scheme', 'vllm-gumbel', '--key', '1', '--tokens', '1,2', '--threshold', '0'],
      'invalid_params',
    ],
    [['prf', '--prf', 'torch-mt19937', '--seed', 'abc', '--randperm', '3'], 'bad_option'],
    [['prf', '--bogus'], 'bad_option'],
    [['frobnicate'], 'unknown_command'],
    [
      [
        'detect',
        '--scheme',
        'vllm-gumbel',
        '--key',
        '1',
        '--tokenizer',
        'qwen3',
        '--text-file',
        '/nonexistent',
      ],
      'file_not_readable',
    ],
  ])('%j → %s', async (argv, code) => {
    const r = await run(...argv)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.err.error.code).toBe(code)
    expect(typeof r.err.error.message).toBe('string')
  })
  it('never echoes the key in an error', async () => {
    const r = await run('detect', '--scheme', 'vllm-gumbel', '--key', '987654321987', '--tokens', 'x')
    expect(r.code).toBe(2)
    expect(JSON.stringify(r.err)).not.toContain('987654321987')
  })
})

describe('bin/wmlab.js', () => {
  const exec = promisify(execFile)
  it('runs as a process: JSON on stdout, errors as JSON on stderr with exit code 2', async () => {
    const ok = await exec('node', [
      'bin/wmlab.js',
      'prf',
      '--prf',
      'torch-mt19937',
      '--seed',
      '0',
      '--randperm',
      '10',
    ])
    expect(JSON.parse(ok.stdout).randperm).toEqual(torch.randperm[0].perm)
    const bad = await exec('node', ['bin/wmlab.js', 'prf']).catch((e) => e)
    expect(bad.code).toBe(2)
    expect(JSON.parse(bad.stderr).error.code).toBe('missing_option')
  })
})
