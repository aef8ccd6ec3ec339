import pRetry from 'p-retry'
import { describe, expect, it } from 'vitest'
import { createBackoff, defaultBackoffOptions } from './backoff.js'

describe('createBackoff', () => {
  it('uses the documented defaults', () => {
    expect(createBackoff().options).toEqual({
      initialDelayMs: 1000,
      factor: 2,
      maxDelayMs: 60_000,
      jitter: 'equal',
      resetAfterMs: 120_000,
    })
    expect(defaultBackoffOptions.jitter).toBe('equal')
  })

  it('grows exponentially up to the cap without jitter', () => {
    const backoff = createBackoff({
      initialDelayMs: 100,
      factor: 2,
      maxDelayMs: 1000,
      jitter: 'none',
    })
    const delays = Array.from({ length: 7 }, () => backoff.next())
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000])
    expect(backoff.attempt).toBe(7)
    backoff.reset()
    expect(backoff.attempt).toBe(0)
    expect(backoff.next()).toBe(100)
  })

  it.each(['full', 'equal'] as const)(
    'keeps 10,000 %s-jitter draws inside their bounds',
    (jitter) => {
      const backoff = createBackoff({ initialDelayMs: 50, factor: 3, maxDelayMs: 5000, jitter })
      const outOfBounds: string[] = []
      for (let i = 0; i < 10_000; i++) {
        if (i % 12 === 0) backoff.reset()
        const base = backoff.baseDelay(backoff.attempt)
        const delay = backoff.next()
        const low = jitter === 'full' ? 0 : Math.floor(base / 2)
        if (delay < low || delay > base || delay > 5000 || !Number.isInteger(delay)) {
          outOfBounds.push(`draw ${i}: ${delay} not in [${low}, ${base}]`)
        }
      }
      expect(outOfBounds).toEqual([])
    },
  )

  it('reaches both ends of the jitter range with extreme random values', () => {
    const low = createBackoff({ jitter: 'full', random: () => 0 })
    expect(low.next()).toBe(0)
    const high = createBackoff({ jitter: 'full', random: () => 0.999999 })
    expect(high.next()).toBe(1000)
    const equal = createBackoff({ jitter: 'equal', random: () => 0 })
    expect(equal.next()).toBe(500)
  })

  it('resets after a stable run only', () => {
    const backoff = createBackoff({ jitter: 'none', resetAfterMs: 10_000 })
    backoff.next()
    backoff.next()
    expect(backoff.recordRun(9_999)).toBe(false)
    expect(backoff.attempt).toBe(2)
    expect(backoff.recordRun(10_000)).toBe(true)
    expect(backoff.attempt).toBe(0)
  })

  it('converts to p-retry timing options', () => {
    expect(
      createBackoff({ initialDelayMs: 200, factor: 1.5, maxDelayMs: 9000 }).toPRetryOptions(),
    ).toEqual({ factor: 1.5, minTimeout: 200, maxTimeout: 9000, randomize: true })
    expect(createBackoff({ jitter: 'none' }).toPRetryOptions().randomize).toBe(false)
  })

  it('drives p-retry itself', async () => {
    const backoff = createBackoff({ initialDelayMs: 1, maxDelayMs: 4, jitter: 'none' })
    let calls = 0
    const retriesLeft: number[] = []
    const result = await pRetry(
      () => {
        calls++
        if (calls < 3) throw new Error(`attempt ${calls}`)
        return 'ok'
      },
      {
        retries: 5,
        ...backoff.toPRetryOptions(),
        onFailedAttempt: (context) => {
          retriesLeft.push(context.retriesLeft)
        },
      },
    )
    expect(result).toBe('ok')
    expect(calls).toBe(3)
    expect(retriesLeft).toEqual([5, 4])
  })

  it.each([
    [{ initialDelayMs: -1 }, 'initialDelayMs'],
    [{ initialDelayMs: Number.NaN }, 'initialDelayMs'],
    [{ factor: 0.5 }, 'factor'],
    [{ factor: Number.NaN }, 'factor'],
    [{ maxDelayMs: -5 }, 'maxDelayMs'],
    [{ initialDelayMs: 5000, maxDelayMs: 1000 }, 'maxDelayMs'],
    [{ jitter: 'sometimes' }, 'jitter'],
    [{ resetAfterMs: -1 }, 'resetAfterMs'],
  ])('rejects %o naming %s', (options, name) => {
    expect(() => createBackoff(options as never)).toThrow(TypeError)
    expect(() => createBackoff(options as never)).toThrow(`"${name}"`)
  })
})
