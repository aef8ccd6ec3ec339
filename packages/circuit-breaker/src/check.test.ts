import { afterEach, describe, expect, it } from 'vitest'
import { breakerCheck } from './check.js'
import { createBreakerRegistry, type BreakerRegistry } from './registry.js'

let registry: BreakerRegistry
const signal = new AbortController().signal

afterEach(async () => {
  await registry.close()
})

describe('breakerCheck', () => {
  it('is healthy while every breaker is closed, degraded while any is open', async () => {
    registry = createBreakerRegistry()
    const check = breakerCheck(registry)
    expect(check).toMatchObject({ name: 'circuit_breakers', critical: false })
    registry.get('GET /a')
    registry.get('GET /b')
    expect(await check.run(signal)).toEqual({
      status: 'healthy',
      breakers: 2,
      open: [],
      half_open: [],
    })
    registry.forceOpen('GET /b')
    expect(await check.run(signal)).toEqual({
      status: 'degraded',
      breakers: 2,
      open: ['GET /b'],
      half_open: [],
      error: 'circuit open: GET /b',
    })
  })

  it('validates its options', () => {
    registry = createBreakerRegistry()
    expect(() => breakerCheck(registry, { name: '' })).toThrow(TypeError)
    expect(() => breakerCheck({} as never)).toThrow(/registry/)
    expect(breakerCheck(registry, { name: 'breakers', critical: true })).toMatchObject({
      name: 'breakers',
      critical: true,
    })
  })
})
