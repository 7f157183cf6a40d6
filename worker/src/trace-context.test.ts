// W3C Trace Context `traceparent` parsing and the edge's hop, with cases from the spec
// (https://www.w3.org/TR/trace-context/ §3.2 and its test suite's valid/invalid headers).
import { describe, expect, it } from 'vitest'
import { continueTrace, formatTraceparent, parseTraceparent } from './trace-context.ts'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const SPEC_EXAMPLE = `00-${TRACE_ID}-${PARENT_ID}-01`

describe('parseTraceparent', () => {
  it('reads the spec example (sampled) and its unsampled variant', () => {
    expect(parseTraceparent(SPEC_EXAMPLE)).toEqual({ traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 })
    expect(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`)?.flags).toBe(0)
    // unknown flag bits are kept as read; surrounding optional whitespace is allowed
    expect(parseTraceparent(` 00-${TRACE_ID}-${PARENT_ID}-09\t`)?.flags).toBe(9)
  })

  it('accepts a future version, with or without extra fields after a dash', () => {
    expect(parseTraceparent(`cc-${TRACE_ID}-${PARENT_ID}-01`)?.traceId).toBe(TRACE_ID)
    expect(parseTraceparent(`cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`)).toEqual({
      traceId: TRACE_ID,
      parentId: PARENT_ID,
      flags: 1,
    })
  })

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['version ff (forbidden)', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['version not hex', `0g-${TRACE_ID}-${PARENT_ID}-01`],
    ['version 00 with an extra field', `${SPEC_EXAMPLE}-extra`],
    ['future version, extra field without a dash', `cc-${TRACE_ID}-${PARENT_ID}-01x`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['uppercase hex', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`],
    ['short trace id', `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`],
    ['long parent id', `00-${TRACE_ID}-${PARENT_ID}0-01`],
    ['non-hex parent id', `00-${TRACE_ID}-00f067aa0ba902bz-01`],
    ['one-digit flags', `00-${TRACE_ID}-${PARENT_ID}-1`],
    ['non-hex flags', `00-${TRACE_ID}-${PARENT_ID}-0x`],
    ['wrong separator', `00_${TRACE_ID}_${PARENT_ID}_01`],
    ['three fields', `00-${TRACE_ID}${PARENT_ID}-01`],
    ['two headers folded into one', `${SPEC_EXAMPLE}, ${SPEC_EXAMPLE}`],
  ])('ignores %s', (_case, header) => {
    expect(parseTraceparent(header)).toBeNull()
  })
})

describe('formatTraceparent', () => {
  it('writes version 00 with two-digit flags, the inverse of parsing', () => {
    expect(formatTraceparent({ traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 })).toBe(SPEC_EXAMPLE)
    expect(formatTraceparent({ traceId: TRACE_ID, parentId: PARENT_ID, flags: 0 })).toBe(
      `00-${TRACE_ID}-${PARENT_ID}-00`,
    )
  })
})

describe('continueTrace', () => {
  const VALID = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/

  it('keeps the incoming trace id and sampled flag, with a new span id for the hop', () => {
    const hop = continueTrace(SPEC_EXAMPLE)
    expect(hop.traceId).toBe(TRACE_ID)
    expect(hop.parentId).toMatch(/^[0-9a-f]{16}$/)
    expect(hop.parentId).not.toBe(PARENT_ID)
    expect(hop.flags).toBe(1)
    expect(continueTrace(`00-${TRACE_ID}-${PARENT_ID}-00`).flags).toBe(0)
    // a later version's unknown flag bits are not sent on as version 00
    expect(continueTrace(`cc-${TRACE_ID}-${PARENT_ID}-ff-x`)).toMatchObject({ traceId: TRACE_ID, flags: 1 })
    expect(formatTraceparent(hop)).toMatch(VALID)
  })

  it('starts a new sampled trace when the header is absent or invalid', () => {
    const seen = new Set<string>()
    for (const incoming of [undefined, null, 'garbage', `ff-${TRACE_ID}-${PARENT_ID}-01`]) {
      const hop = continueTrace(incoming)
      expect(formatTraceparent(hop)).toMatch(VALID)
      expect(parseTraceparent(formatTraceparent(hop))).toEqual(hop)
      expect(hop.traceId).not.toBe(TRACE_ID)
      expect(hop.flags).toBe(1)
      seen.add(hop.traceId)
    }
    expect(seen.size).toBe(4)
  })
})
