// The origin's ScoringKernel: the WASM kernel, with the membership walk (mtGreen) run natively where the
// CPU has AVX-512 — origin/native/membership.cc, built by `npm run build` (scripts/build-native.mjs).
// A self-hash generation step walks ≈ 2.3 candidates of ≈ 0.875·γV draws each; sixteen lanes instead of
// WASM's four make that the difference between ≈ 100 µs and ≈ 25 µs per token at V = 151,936. The flags
// are the same bits (origin/native-kernel.test.ts), so the choice never changes a generated text.
// Only the origin uses it: the edge runs in workerd, where WASM is the kernel.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { ScoringKernel } from '../core/kernel/types.ts'

export const NATIVE_WALK_PATH = fileURLToPath(new URL('./native/build/membership.node', import.meta.url))

interface NativeWalk {
  available(): boolean
  mtGreen(seeds: Uint32Array, tokens: Int32Array, vocab: number, greenCount: number, out: Uint8Array): void
}

export interface NativeWalkStatus {
  walk: NativeWalk | null
  /** Why the walk is not used (null when it is). */
  reason: string | null
}

/** The native walk if it is built, loads, and this CPU runs it; WMLAB_NATIVE_KERNEL=0 turns it off. */
export function loadNativeWalk(env: Record<string, string | undefined> = process.env): NativeWalkStatus {
  if (env.WMLAB_NATIVE_KERNEL === '0') return { walk: null, reason: 'WMLAB_NATIVE_KERNEL=0' }
  if (!existsSync(NATIVE_WALK_PATH)) return { walk: null, reason: 'not built (npm run build:native)' }
  try {
    const walk = createRequire(import.meta.url)(NATIVE_WALK_PATH) as NativeWalk
    return walk.available() ? { walk, reason: null } : { walk: null, reason: 'this CPU has no AVX-512' }
  } catch (err) {
    return { walk: null, reason: `cannot load ${NATIVE_WALK_PATH}: ${(err as Error).message}` }
  }
}

/** `kernel` with its mtGreen replaced by the native walk (argument checks as the WASM kernel's). */
export function withNativeWalk(kernel: ScoringKernel, walk: NativeWalk): ScoringKernel {
  return {
    ...kernel,
    name: `${kernel.name}+avx512`,
    // A tracking pass stays WASM (≈ 100 µs at γ = 0.25, 199 at γ = 0.5) while a walk is ≈ 7–15 µs.
    trackingPassWalks: NATIVE_TRACKING_PASS_WALKS,
    mtGreen(seeds, tokens, vocab, greenCount, out) {
      if (!(Number.isInteger(vocab) && vocab >= 0 && vocab < 214748364))
        throw new RangeError(`native kernel: bad vocab ${vocab}`)
      if (!Number.isInteger(greenCount)) throw new RangeError(`native kernel: bad greenCount ${greenCount}`)
      walk.mtGreen(seeds, tokens, vocab, greenCount, out)
    },
  }
}

/** One WASM tracking pass in native walks (bench/origin.bench.ts, bench/greenlist-tracking.bench.ts). */
const NATIVE_TRACKING_PASS_WALKS = 12

/** The origin's kernel: `wasm` with the native walk where it runs (logs which, once, through `log`). */
export function originKernel(wasm: ScoringKernel, log?: (line: string) => void): ScoringKernel {
  const { walk, reason } = loadNativeWalk()
  log?.(
    walk ? 'origin: membership walk native (AVX-512)' : `origin: membership walk in WASM (native: ${reason})`,
  )
  return walk ? withNativeWalk(wasm, walk) : wasm
}
