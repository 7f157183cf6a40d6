/**
 * @module
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) for the edge: the edge reads a client's
 * `traceparent`, takes one hop in that trace, and hands the hop's `traceparent` to the origin, whose
 * OpenTelemetry SDK continues the same trace. When the edge exports spans (metrics/tracing.ts) the hop
 * is its server span; without an endpoint it is a fresh span id made here. Web standards only.
 */

import { randomHex } from '../../core/keys/hex.ts'

/** One position in a trace: `traceparent` = `version-traceId-parentId-flags`. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zeros: the whole distributed trace. */
  traceId: string
  /** 16 lowercase hex digits, not all zeros: the span that sent (or, for a hop, is sending) the request. */
  parentId: string
  /** The trace-flags byte; bit 0 (0x01) is `sampled`. */
  flags: number
}

const SAMPLED = 0x01
const TRACE_ID = /^[0-9a-f]{32}$/
const PARENT_ID = /^[0-9a-f]{16}$/
const HEX_BYTE = /^[0-9a-f]{2}$/
const allZeros = (hex: string) => /^0+$/.test(hex)

/**
 * Parses a `traceparent` header; anything invalid is `null` (the spec says: ignore it, start afresh).
 * Version 00 must be exactly 55 characters; a later version may append fields after a `-`
 * (spec §3.2.4, "Versioning of traceparent"); version ff is invalid; hex must be lowercase.
 *
 * @example
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
 * // { traceId: '4bf92f35…4736', parentId: '00f067aa0ba902b7', flags: 1 }
 */
export function parseTraceparent(header: string | null | undefined): TraceContext | null {
  if (!header) return null
  const value = header.trim()
  const version = value.slice(0, 2)
  if (!HEX_BYTE.test(version) || version === 'ff') return null
  if (version === '00' ? value.length !== 55 : value.length < 55 || (value.length > 55 && value[55] !== '-'))
    return null
  const [v, traceId, parentId, flags] = value.slice(0, 55).split('-')
  if (v !== version || !TRACE_ID.test(traceId) || !PARENT_ID.test(parentId) || !HEX_BYTE.test(flags))
    return null
  if (allZeros(traceId) || allZeros(parentId)) return null
  return { traceId, parentId, flags: Number.parseInt(flags, 16) }
}

/** The version-00 header for `ctx`. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.parentId}-${(ctx.flags & 0xff).toString(16).padStart(2, '0')}`
}

/** `bytes` random bytes as lowercase hex, never all zeros (an all-zero id is invalid). */
function nonZeroHex(bytes: number): string {
  for (;;) {
    const hex = randomHex(bytes)
    if (!allZeros(hex)) return hex
  }
}

/**
 * The edge's hop in the caller's trace: the incoming trace id and sampled flag with a fresh span id,
 * or — when the header is absent or invalid — a new, sampled trace. Only the sampled bit is kept:
 * the other flag bits have no meaning in version 00 and must be sent as zero.
 *
 * @example
 * const hop = continueTrace(request.headers.get('traceparent'))
 * fetch(origin, { headers: { traceparent: formatTraceparent(hop) } })
 */
export function continueTrace(incoming: string | null | undefined): TraceContext {
  const parent = parseTraceparent(incoming)
  return {
    traceId: parent?.traceId ?? nonZeroHex(16),
    parentId: nonZeroHex(8),
    flags: parent ? parent.flags & SAMPLED : SAMPLED,
  }
}
