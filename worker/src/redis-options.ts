// Options for every Upstash Redis client of the worker (the detection cache and the rate limiter, one
// client in index.ts). Redis only makes detection faster or limits it: a Redis that is down, slow or
// hanging must cost a request at most REDIS_TIMEOUT_MS per call, never an outage. Without these, the
// SDK's default retries (5, exponential backoff) held every detection ~9 s against a Redis that was
// down, and a Redis that accepted connections but never answered held it forever.
// test/reliability/faults.test.ts injects each of these faults.

/** Longest wait for one Redis command (the limiter fails open and the cache is bypassed after it). */
export const REDIS_TIMEOUT_MS = 500

export function redisClientOptions() {
  return {
    // The cache stores strings; the SDK would otherwise turn a cached "123" into the number 123.
    automaticDeserialization: false,
    // One quick retry for a dropped connection, within the same time budget.
    retry: { retries: 1, backoff: () => 25 },
    // A fresh deadline per command: aborts a call to a slow or hanging Redis.
    signal: () => AbortSignal.timeout(REDIS_TIMEOUT_MS),
  }
}
