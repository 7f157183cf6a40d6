/**
 * @module
 * BigInt oracle for KGW seeds: the references' Python-int and torch-int64 arithmetic written
 * literally (no 32-bit tricks). Only tests (`kgw-seed.test.ts`) and the seeding benchmark use it; the
 * schemes run `KgwSeeder` (kgw-seed.ts), which must equal this for every input.
 */
import { wrapInt64 } from '../prf/int64.ts'
import { int64SeedMod, randperm } from '../prf/torch-mt19937.ts'
import { type KgwSeedConfig, TABLE_SIZE, hashTable } from './kgw-seed.ts'

const U64 = (1n << 64n) - 1n

function pyModN(x: bigint, m: bigint): bigint {
  const r = x % m
  return r < 0n ? r + m : r
}

/** (ids, end) → the seed before manual_seed's 32-bit truncation, exactly as KgwSeeder.seed. */
export function referenceSeeder(c: KgwSeedConfig): (ids: ArrayLike<number>, end: number) => bigint {
  const key = c.hashKey
  const h = c.contextWidth
  switch (c.seeding) {
    case 'lefthash':
      // additive_prf: Python ints (no int64 wrap): key · Σ context, then % (2**64 − 1).
      return (ids, end) => {
        let sum = 0n
        for (let i = end - h; i < end; i++) sum += BigInt(ids[i])
        return pyModN(key * sum, U64)
      }
    case 'markllm': {
      // f_time: prf[(Π context) % V] with Python ints; seed = key · f.
      const prf = randperm(key, c.vocabSize)
      return (ids, end) => {
        let prod = 1n
        for (let i = end - h; i < end; i++) prod *= BigInt(ids[i])
        return key * BigInt(prf[Number(pyModN(prod, BigInt(c.vocabSize)))])
      }
    }
    default: {
      // anchored min-hash: min over the window (candidate included) of key·hashint(x_i)·hashint(candidate)
      // as int64 tensor arithmetic that wraps; the min is over signed values.
      const t = hashTable(c.tableSeed ?? key)
      const hashint = (x: number) => BigInt(t[((x % TABLE_SIZE) + TABLE_SIZE) % TABLE_SIZE] + 1)
      return (ids, end) => {
        const anchor = hashint(ids[end])
        let min: bigint | null = null
        for (let i = end - h + 1; i <= end; i++) {
          const v = wrapInt64(wrapInt64(key * hashint(ids[i])) * anchor)
          if (min === null || v < min) min = v
        }
        return int64SeedMod(min!)
      }
    }
  }
}
