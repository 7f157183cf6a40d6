// zod schemas shared by the schemes' parameters.
import { z } from 'zod'

/** A 64-bit key given as bigint, safe integer or decimal/hex string (JSON cannot carry > 2^53). */
export const keySchema = z
  .union([
    z.bigint(),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^(0x[0-9a-fA-F]+|\d+)$/),
  ])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v <= 0xffffffffffffffffn, 'key must be in [0, 2^64 − 1]')

/** lm-watermarking / HF hash keys are Python ints that end up in torch int64 arithmetic. */
export const hashKeySchema = z
  .union([z.bigint(), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d+$/)])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v < 1n << 63n, 'hash key must be in [0, 2^63)')

export const gammaSchema = z.number().gt(0).lt(1)
export const deltaSchema = z.number().min(0).max(100)
export const vocabSchema = z.number().int().min(2).max(16_777_216)
export const thresholdSchema = z.number().gt(0).lt(1)
export const contextWidthSchema = z.number().int().min(1).max(64)
