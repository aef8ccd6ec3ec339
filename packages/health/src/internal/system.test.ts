import type * as OS from 'node:os'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

// The machine's CPU times, as os.cpus() reports them (milliseconds per state), set per test.
const times = { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 }
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof OS>()
  return { ...os, cpus: () => [{ model: 'test', speed: 1, times: { ...times } }] }
})

const { SystemSampler } = await import('./system.js')
const { systemCheck } = await import('../checks.js')

/** Adds CPU time: `busy` ms spent working and `idle` ms idle. */
function spend(busy: number, idle: number): void {
  times.user += busy
  times.idle += idle
}

describe('SystemSampler (CPU percent)', () => {
  beforeEach(() => {
    Object.assign(times, { user: 3000, nice: 0, sys: 0, idle: 7000, irq: 0 })
    vi.useFakeTimers({ toFake: ['performance', 'Date'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reads the average since boot until one interval has passed, then measures the interval', () => {
    const sampler = new SystemSampler(1000)
    // A window of microseconds would read 0 or 100: the average since boot (30 %) instead.
    spend(1, 0)
    expect(sampler.cpuPercent()).toBe(30)
    vi.advanceTimersByTime(500)
    spend(500, 0)
    expect(sampler.cpuPercent()).toBe(30)
    vi.advanceTimersByTime(500)
    spend(399, 100)
    // The first full interval: 900 ms busy of 1000.
    expect(sampler.cpuPercent()).toBe(90)
    vi.advanceTimersByTime(1000)
    spend(250, 750)
    expect(sampler.cpuPercent()).toBe(25)
  })

  it('keeps measuring when the wall clock steps back', () => {
    const sampler = new SystemSampler(1000)
    vi.advanceTimersByTime(1000)
    spend(500, 500)
    expect(sampler.cpuPercent()).toBe(50)
    vi.setSystemTime(Date.now() - 3_600_000)
    vi.advanceTimersByTime(1000)
    spend(100, 900)
    expect(sampler.cpuPercent()).toBe(10)
  })

  it('degrades systemCheck when CPU crosses its threshold, and only then', async () => {
    const check = systemCheck({ cpuPercent: 80, memoryPercent: 100, eventLoopDelayMs: 600_000 })
    const signal = new AbortController().signal
    // First run: the average since boot (30 %), not a reading over a few microseconds.
    spend(1, 0)
    expect(await check.run(signal)).toMatchObject({ status: 'healthy', cpu_percent: 30 })
    vi.advanceTimersByTime(1000)
    spend(950, 50)
    const busy = await check.run(signal)
    expect(busy).toMatchObject({ status: 'degraded', cpu_percent: 95, error: 'CPU 95% > 80%' })
    vi.advanceTimersByTime(1000)
    spend(100, 900)
    expect(await check.run(signal)).toMatchObject({ status: 'healthy', cpu_percent: 10 })
    check.close()
  })
})
