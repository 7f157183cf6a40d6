// Small seeded PRNG (splitmix32 → xoshiro128**) for sampling and simulation: reproducible
// everywhere, no platform RNG. Not for secrets.
import type { Rng } from './schemes/types.ts'

export function seededRng(seed: number): Rng {
  let s = seed >>> 0
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = split()
  let b = split()
  let c = split()
  let d = split()
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    return r / 4294967296
  }
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k))
