import { describe, expect, it } from 'vitest'
import { DatabaseUnavailableError } from './db-availability.ts'
import { memoised, TtlMap } from './memo.ts'

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

/** A load whose calls are counted and which resolves only when told. */
function gatedLoad<V>(value: () => V) {
  let calls = 0
  const gates: (() => void)[] = []
  const load = () => {
    calls++
    return new Promise<V>((resolve) => gates.push(() => resolve(value())))
  }
  const open = () => {
    for (const g of gates.splice(0)) g()
  }
  return { load, calls: () => calls, open }
}

describe('memoised', () => {
  it('concurrent misses share one load', async () => {
    const map = new TtlMap<string>(10_000)
    const g = gatedLoad(() => 'v1')
    const answers = Promise.all(Array.from({ length: 20 }, () => memoised(map, 'k', g.load)))
    g.open()
    expect(await answers).toEqual(Array(20).fill('v1'))
    expect(g.calls()).toBe(1)
    expect(await memoised(map, 'k', g.load)).toBe('v1')
    expect(g.calls()).toBe(1)
  })

  it('serves a recently expired value while one background refresh runs', async () => {
    const c = clock()
    const map = new TtlMap<string>(10_000, 100, c.now)
    let version = 1
    const g = gatedLoad(() => `v${version}`)
    const first = memoised(map, 'k', g.load)
    g.open()
    expect(await first).toBe('v1')
    version = 2
    c.advance(10_001) // expired, within one TTL of expiry
    const background: Promise<unknown>[] = []
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => memoised(map, 'k', g.load, (p) => background.push(p))),
    )
    expect(answers).toEqual(Array(5).fill('v1')) // no request waited for the database
    expect(g.calls()).toBe(2) // one refresh for all five
    expect(background).toHaveLength(1)
    g.open()
    await Promise.all(background)
    expect(await memoised(map, 'k', g.load, () => {})).toBe('v2')
    expect(g.calls()).toBe(2)
  })

  it('waits for a fresh value once the entry expired more than one TTL ago', async () => {
    const c = clock()
    const map = new TtlMap<string>(10_000, 100, c.now)
    map.set('k', 'old')
    c.advance(20_001)
    const g = gatedLoad(() => 'new')
    const answer = memoised(map, 'k', g.load, () => {
      throw new Error('no background refresh expected')
    })
    g.open()
    expect(await answer).toBe('new')
  })

  it('a delete during a load keeps the load from storing what it read before the write', async () => {
    const map = new TtlMap<string>(10_000)
    const g = gatedLoad(() => 'read-before-write')
    const answer = memoised(map, 'k', g.load)
    map.delete('k') // e.g. a key created in this isolate while the list was being read
    g.open()
    expect(await answer).toBe('read-before-write')
    expect(map.get('k')).toBeUndefined()
  })

  it('failures are not cached; an outage is served the stale value', async () => {
    const c = clock()
    const map = new TtlMap<string>(10_000, 100, c.now)
    map.set('k', 'cached')
    c.advance(60_000) // beyond stale-while-revalidate, within stale-if-error
    const down = () => Promise.reject(new DatabaseUnavailableError('test: connection refused'))
    expect(await memoised(map, 'k', down)).toBe('cached')
    await expect(memoised(map, 'other', down)).rejects.toThrow()
    expect(map.loading.size).toBe(0)
    expect(await memoised(map, 'other', async () => 'loaded')).toBe('loaded')
  })
})
