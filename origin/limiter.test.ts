import { describe, expect, it } from 'vitest'
import { BusyError, ConcurrencyLimiter } from './limiter.ts'

const tick = () => new Promise((r) => setImmediate(r))

describe('ConcurrencyLimiter', () => {
  it('admits N at once, queues M in FIFO order and refuses the next synchronously', async () => {
    const limiter = new ConcurrencyLimiter(2, 2)
    const order: string[] = []
    const a = await limiter.acquire()
    const b = await limiter.acquire()
    const queued = (name: string) =>
      limiter.acquire().then((release) => {
        order.push(name)
        return release
      })
    const c = queued('c')
    const d = queued('d')
    expect(limiter.inFlight).toBe(2)
    expect(limiter.queueDepth).toBe(2)
    expect(() => limiter.acquire()).toThrow(BusyError)
    b()
    b() // a second release of the same slot is ignored
    await tick()
    expect(order).toEqual(['c'])
    expect(limiter.inFlight).toBe(2)
    a()
    await tick()
    expect(order).toEqual(['c', 'd'])
    ;(await c)()
    ;(await d)()
    expect(limiter.inFlight).toBe(0)
    expect(limiter.queueDepth).toBe(0)
  })

  it('an aborted waiter leaves the queue and never takes a slot', async () => {
    const limiter = new ConcurrencyLimiter(1, 1)
    const held = await limiter.acquire()
    const controller = new AbortController()
    const waiting = limiter.acquire(controller.signal)
    controller.abort(new Error('client went away'))
    await expect(waiting).rejects.toThrow('client went away')
    expect(limiter.queueDepth).toBe(0)
    held()
    expect(limiter.inFlight).toBe(0)
    await expect(limiter.acquire(controller.signal)).rejects.toThrow('client went away')
  })

  it('rejects impossible bounds at construction', () => {
    expect(() => new ConcurrencyLimiter(0, 1)).toThrow(/maxConcurrent/)
    expect(() => new ConcurrencyLimiter(1, -1)).toThrow(/maxQueue/)
  })
})
