// Two's-complement wrap-around for BigInt without BigInt.asIntN/asUintN: inside hot loops those
// intermittently crash TurboFan in Node 20 (V8 11.3, "Phi of kRepTagged (SignedBigInt64)").
const TWO32 = 1n << 32n
const TWO63 = 1n << 63n
const TWO64 = 1n << 64n

/** x as a signed 64-bit integer (torch int64 overflow semantics). */
export function wrapInt64(x: bigint): bigint {
  let r = x % TWO64
  if (r < 0n) r += TWO64
  return r >= TWO63 ? r - TWO64 : r
}

/** The low 32 bits of x (two's complement for negative x), as a number. */
export function lowU32(x: bigint): number {
  const r = x % TWO32
  return Number(r < 0n ? r + TWO32 : r)
}
