import { Registry, register as globalRegistry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { defineMetrics } from './metrics.js'

describe('defineMetrics', () => {
  it('registers nothing without a registry', () => {
    const before = globalRegistry.getMetricsAsArray().length
    const calls: unknown[] = []
    const result = defineMetrics(undefined, (m) => calls.push(m))
    expect(result).toBeUndefined()
    expect(calls).toEqual([])
    expect(globalRegistry.getMetricsAsArray().length).toBe(before)
  })

  it('registers prefixed metrics on the given registry only', async () => {
    const registry = new Registry()
    const before = globalRegistry.getMetricsAsArray().length
    const metrics = defineMetrics(registry, (m) => ({
      restarts: m.counter({
        name: 'test_restarts_total',
        help: 'Restarts',
        labelNames: ['reason'],
      }),
      state: m.gauge({ name: 'test_state', help: 'State' }),
      duration: m.histogram({ name: 'scanner_test_seconds', help: 'Duration', buckets: [0.1, 1] }),
    }))
    metrics?.restarts.inc({ reason: 'exit' })
    metrics?.state.set(2)
    metrics?.duration.observe(0.5)
    const text = await registry.metrics()
    expect(text).toContain('scanner_test_restarts_total{reason="exit"} 1')
    expect(text).toContain('scanner_test_state 2')
    expect(text).toContain('scanner_test_seconds_count 1')
    expect(globalRegistry.getMetricsAsArray().length).toBe(before)
  })

  it('reuses metrics already on the registry', () => {
    const registry = new Registry()
    const define = (): ReturnType<typeof make> | undefined => defineMetrics(registry, make)
    const make = (m: Parameters<Parameters<typeof defineMetrics>[1]>[0]) => ({
      c: m.counter({ name: 'shared_total', help: 'x' }),
    })
    const a = define()
    const b = define()
    expect(a?.c).toBe(b?.c)
  })

  it('rejects something that is not a registry', () => {
    expect(() => defineMetrics({} as never, () => 1)).toThrow(/"metrics"/)
  })
})
