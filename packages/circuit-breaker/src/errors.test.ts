import CircuitBreaker from 'opossum'
import { describe, expect, it } from 'vitest'
import {
  BreakerError,
  BreakerOpenError,
  BreakerTimeoutError,
  fromOpossumError,
  isBreakerError,
} from './errors.js'

async function opossumError(options: CircuitBreaker.Options, open = false): Promise<unknown> {
  const breaker = new CircuitBreaker(
    () => new Promise((resolve) => setTimeout(resolve, 50)),
    options,
  )
  if (open) breaker.open()
  const first = breaker.fire().catch((e: unknown) => e)
  const second = breaker.fire().catch((e: unknown) => e)
  const result = options.capacity === 1 ? await second : await first
  breaker.shutdown()
  return result
}

describe('fromOpossumError', () => {
  it('maps EOPENBREAKER, ETIMEDOUT, ESEMLOCKED and ESHUTDOWN, keeping the cause', async () => {
    const cases = [
      [await opossumError({}, true), 'ERR_BREAKER_OPEN'],
      [await opossumError({ timeout: 1 }), 'ERR_BREAKER_TIMEOUT'],
      [await opossumError({ capacity: 1 }), 'ERR_BREAKER_CAPACITY'],
    ] as const
    for (const [cause, code] of cases) {
      const mapped = fromOpossumError(cause, { key: 'GET /x' })
      expect(isBreakerError(mapped, code)).toBe(true)
      expect(mapped).toMatchObject({ status: 503, key: 'GET /x', expose: true })
      expect((mapped as Error).cause).toBe(cause)
    }
    const shut = new CircuitBreaker(() => Promise.resolve())
    shut.shutdown()
    const error = await shut.fire().catch((e: unknown) => e)
    expect(isBreakerError(fromOpossumError(error), 'ERR_BREAKER_SHUTDOWN')).toBe(true)
  })

  it('leaves errors of the action alone, even with the same code', () => {
    const own = Object.assign(new Error('socket'), { code: 'ETIMEDOUT' })
    expect(fromOpossumError(own)).toBe(own)
    expect(fromOpossumError('x')).toBe('x')
  })
})

describe('errors', () => {
  it('are branded, coded and typed', () => {
    const open = new BreakerOpenError({ key: 'GET /x', retryAfter: 3 })
    expect(open).toBeInstanceOf(BreakerError)
    expect(open).toMatchObject({ name: 'BreakerOpenError', code: 'ERR_BREAKER_OPEN' })
    expect(isBreakerError(open)).toBe(true)
    expect(isBreakerError(open, 'ERR_BREAKER_TIMEOUT')).toBe(false)
    const timeout = new BreakerTimeoutError(100)
    expect(timeout).toMatchObject({ timeoutMs: 100, code: 'ERR_BREAKER_TIMEOUT' })
    expect(isBreakerError(new Error('x'))).toBe(false)
    expect(isBreakerError({ code: 'ERR_BREAKER_OPEN' })).toBe(false)
  })
})
