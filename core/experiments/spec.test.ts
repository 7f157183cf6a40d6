// The experiment spec: grid expansion, job numbering, prefix lengths, prompt uploads, the
// attacks' validation and labels, and the prompts each sample gets.
import { describe, expect, it } from 'vitest'
import { BROWN_PASSAGES, promptCount, promptFor } from './prompts.ts'
import {
  attackLabel,
  type ExperimentSpecInput,
  ExperimentSpecSchema,
  gridCellCount,
  gridCells,
  jobOf,
  parsePromptsJsonl,
  prefixLengths,
  resolvePrompts,
  totalJobs,
} from './spec.ts'

const parse = (spec: Partial<ExperimentSpecInput>) =>
  ExperimentSpecSchema.parse({
    name: 't',
    grid: { schemes: [{ scheme: 'kgw-lefthash' }] },
    samples: 3,
    ...spec,
  })

/** The zod issue paths and messages of a spec that must fail. */
function issues(spec: Partial<ExperimentSpecInput>): string[] {
  const r = ExperimentSpecSchema.safeParse({
    name: 't',
    grid: { schemes: [{ scheme: 'kgw-lefthash' }] },
    samples: 3,
    ...spec,
  })
  expect(r.success).toBe(false)
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}

describe('gridCells', () => {
  const spec = parse({
    grid: {
      schemes: [
        { scheme: 'kgw-lefthash', params: { gamma: [0.25, 0.5], delta: [1, 2, 4] } },
        { scheme: 'vllm-gumbel' },
      ],
      keys: 2,
    },
  })

  it('is schemes × the Cartesian product of parameter values × keys, in that order', () => {
    const cells = gridCells(spec)
    expect(cells).toHaveLength(2 * 3 * 2 + 2)
    expect(gridCellCount(spec)).toBe(cells.length)
    expect(cells.map((c) => c.cell)).toEqual(cells.map((_, i) => i))
    // Parameter names sorted (delta before gamma), the first varying slowest; keys innermost.
    expect(cells.slice(0, 5).map((c) => c.keyLabel)).toEqual([
      'kgw-lefthash(delta=1,gamma=0.25)#1',
      'kgw-lefthash(delta=1,gamma=0.25)#2',
      'kgw-lefthash(delta=1,gamma=0.5)#1',
      'kgw-lefthash(delta=1,gamma=0.5)#2',
      'kgw-lefthash(delta=2,gamma=0.25)#1',
    ])
    expect(cells[3]).toEqual({
      cell: 3,
      scheme: 'kgw-lefthash',
      params: { delta: 1, gamma: 0.5 },
      keyIndex: 1,
      keyLabel: 'kgw-lefthash(delta=1,gamma=0.5)#2',
    })
    expect(cells.slice(-2).map((c) => [c.scheme, c.params, c.keyIndex, c.keyLabel])).toEqual([
      ['vllm-gumbel', {}, 0, 'vllm-gumbel#1'],
      ['vllm-gumbel', {}, 1, 'vllm-gumbel#2'],
    ])
    // Every combination once.
    const kgw = cells
      .filter((c) => c.scheme === 'kgw-lefthash')
      .map((c) => JSON.stringify([c.params, c.keyIndex]))
    expect(new Set(kgw).size).toBe(12)
  })

  it('counts cells without expanding a huge grid', () => {
    const huge = parse({
      grid: {
        schemes: [
          {
            scheme: 'kgw-lefthash',
            params: Object.fromEntries('abcdefgh'.split('').map((p) => [p, Array(16).fill(1)])),
          },
        ],
        keys: 8,
      },
    })
    expect(gridCellCount(huge)).toBe(16 ** 8 * 8)
  })
})

describe('jobOf', () => {
  it('numbers jobs sample-major, so every cell progresses at the same pace', () => {
    const spec = parse({
      grid: { schemes: [{ scheme: 'kgw-lefthash' }, { scheme: 'unigram' }], keys: 2 },
      samples: 5,
    })
    const cells = gridCells(spec).length
    expect(totalJobs(spec)).toBe(4 * 5)
    expect(jobOf(0, cells)).toEqual({ sample: 0, cell: 0 })
    expect(jobOf(3, cells)).toEqual({ sample: 0, cell: 3 })
    expect(jobOf(4, cells)).toEqual({ sample: 1, cell: 0 })
    expect(jobOf(19, cells)).toEqual({ sample: 4, cell: 3 })
    // A bijection from 0 … totalJobs − 1 onto samples × cells.
    const pairs = Array.from({ length: totalJobs(spec) }, (_, j) => jobOf(j, cells))
    expect(new Set(pairs.map((p) => `${p.sample}/${p.cell}`)).size).toBe(20)
    expect(pairs.every((p) => p.sample < 5 && p.cell < cells)).toBe(true)
  })
})

describe('prefixLengths', () => {
  it('defaults to powers of two from 16 below maxNewTokens, then maxNewTokens', () => {
    expect(prefixLengths(parse({ maxNewTokens: 128 }))).toEqual([16, 32, 64, 128])
    expect(prefixLengths(parse({ maxNewTokens: 100 }))).toEqual([16, 32, 64, 100])
    expect(prefixLengths(parse({}))).toEqual([16, 32, 64, 128]) // maxNewTokens defaults to 128
    expect(prefixLengths(parse({ maxNewTokens: 8 }))).toEqual([8])
  })

  it("sorts and de-duplicates the spec's lengths and caps them at maxNewTokens", () => {
    expect(prefixLengths(parse({ maxNewTokens: 64, lengths: [48, 16, 16, 500, 64] }))).toEqual([16, 48, 64])
  })
})

describe('prompt uploads (JSONL)', () => {
  const data = '{"prompt": "Once upon a time", "human": "there was a cat."}\n\n{"prompt": "The jury said"}\n'

  it('a valid upload becomes inline items; blank lines are skipped', () => {
    expect(parsePromptsJsonl(data)).toEqual([
      { prompt: 'Once upon a time', human: 'there was a cat.' },
      { prompt: 'The jury said' },
    ])
    const spec = resolvePrompts(parse({ prompts: { source: 'jsonl', data } }))
    expect(spec.prompts).toEqual({
      source: 'inline',
      items: [{ prompt: 'Once upon a time', human: 'there was a cat.' }, { prompt: 'The jury said' }],
    })
    expect(promptCount(spec)).toBe(2)
  })

  it('an invalid upload fails naming the line and the field', () => {
    expect(() => parsePromptsJsonl('{"prompt": "a"}\nnot json')).toThrow(
      'prompts.data line 2: not valid JSON',
    )
    expect(() => parsePromptsJsonl('{"prompt": "a"}\n{"human": "b"}')).toThrow(
      /^prompts\.data line 2: prompt: /,
    )
    expect(() => parsePromptsJsonl('{"prompt": "a", "lang": "en"}')).toThrow(/^prompts\.data line 1: /)
    expect(() => parsePromptsJsonl('{"prompt": ""}')).toThrow(/^prompts\.data line 1: prompt: /)
    expect(() => parsePromptsJsonl('\n \n')).toThrow('prompts.data: give 1 to 5,000 prompt lines, got 0')
  })
})

describe('promptFor', () => {
  it('is deterministic: sample s gets passage (s + seed) mod N, the prompt words then the human text', () => {
    const spec = parse({ seed: 5, prompts: { source: 'brown', promptWords: 10 } })
    const a = promptFor(spec, 3)
    expect(promptFor(spec, 3)).toEqual(a)
    expect(a.prompt.split(' ')).toHaveLength(10)
    expect(a.human!.length).toBeGreaterThan(0)
    // The same passage for (sample 3, seed 5) and (sample 8, seed 0), and for s and s + N.
    expect(promptFor(parse({ seed: 0, prompts: { source: 'brown', promptWords: 10 } }), 8)).toEqual(a)
    expect(promptFor(spec, 3 + BROWN_PASSAGES)).toEqual(a)
    expect(promptFor(spec, 4).prompt).not.toBe(a.prompt)
  })

  it('cycles through inline items from the seed, with null for a missing human text', () => {
    const spec = resolvePrompts(
      parse({ seed: 1, prompts: { source: 'jsonl', data: '{"prompt":"a","human":"x"}\n{"prompt":"b"}' } }),
    )
    expect([0, 1, 2].map((s) => promptFor(spec, s))).toEqual([
      { prompt: 'b', human: null, source: 'inline:1' },
      { prompt: 'a', human: 'x', source: 'inline:0' },
      { prompt: 'b', human: null, source: 'inline:1' },
    ])
    expect(() => promptFor(parse({ prompts: { source: 'jsonl', data: '{"prompt":"a"}' } }), 0)).toThrow(
      /resolvePrompts/,
    )
  })
})

describe('attacks', () => {
  it('copy-paste takes a span count k, 1 to 64, and labels its rows with it unless it is the default 3', () => {
    const spec = parse({
      attacks: [
        { name: 'copy-paste', strength: 0.5 },
        { name: 'copy-paste', strength: 0.5, spans: 5 },
        { name: 'word-deletion', strength: 0.3 },
      ],
    })
    expect(spec.attacks[1].spans).toBe(5)
    expect(spec.attacks.map(attackLabel)).toEqual([
      'copy-paste@0.5',
      'copy-paste@0.5/k=5',
      'word-deletion@0.3',
    ])
    expect(attackLabel({ name: 'copy-paste', strength: 0.5, spans: 3 })).toBe('copy-paste@0.5')
  })

  it('rejects a bad span count, spans on another attack, and two attacks with one label', () => {
    for (const spans of [0, 65, 2.5])
      expect(issues({ attacks: [{ name: 'copy-paste', strength: 0.5, spans }] })[0]).toMatch(
        /^attacks\.0\.spans: /,
      )
    expect(issues({ attacks: [{ name: 'word-deletion', strength: 0.5, spans: 2 }] })).toEqual([
      'attacks.0.spans: spans applies only to the copy-paste attack',
    ])
    expect(
      issues({
        attacks: [
          { name: 'copy-paste', strength: 0.5 },
          { name: 'copy-paste', strength: 0.5, spans: 3 },
        ],
      }),
    ).toEqual(['attacks.1: duplicate attack copy-paste@0.5; each must differ'])
    expect(issues({ attacks: [{ name: 'word-deletion', strength: 0 }] })[0]).toMatch(
      /^attacks\.0\.strength: /,
    )
  })
})
