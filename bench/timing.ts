// Shared timing for the micro-benchmarks.

/**
 * µs per call of f: the best of 5 rounds of ≥ 150 ms (≥ 3 calls each), after 2 warm-up calls — the
 * best round is the one least disturbed by other load. `clock`: wall time, or this process's CPU time
 * (user + system), which other load on the machine inflates less.
 */
export function bestPerCallUs(f: () => void, clock: 'wall' | 'cpu'): number {
  f()
  f()
  let best = Number.POSITIVE_INFINITY
  for (let r = 0; r < 5; r++) {
    let calls = 0
    const wall = performance.now()
    const cpu = process.cpuUsage()
    do f()
    while (++calls < 3 || performance.now() - wall < 150)
    const d = process.cpuUsage(cpu)
    const us = clock === 'cpu' ? d.user + d.system : (performance.now() - wall) * 1000
    best = Math.min(best, us / calls)
  }
  return best
}
