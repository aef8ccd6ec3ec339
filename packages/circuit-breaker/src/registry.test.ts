import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { isInvalidOptionError } from '@scanner/core'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isBreakerError } from './errors.js'
import { createBreakerRegistry, routeKey, type BreakerRegistry } from './registry.js'

let registry: BreakerRegistry | undefined

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(new Date('2030-01-01T00:00:00Z'))
})

afterEach(async () => {
  vi.useRealTimers()
  await registry?.close()
  registry = undefined
})

const fail = (): Promise<never> => Promise.reject(new Error('boom'))

describe('routeKey', () => {
  it('joins method and pattern, and shares one key per method for unmatched routes', () => {
    expect(routeKey('get', '/api/quotes/:symbol')).toBe('GET /api/quotes/:symbol')
    expect(routeKey('POST', undefined)).toBe('POST <unmatched>')
    expect(routeKey('GET', '')).toBe('GET <unmatched>')
  })
})

describe('createBreakerRegistry', () => {
  it('validates options and names the bad one', () => {
    const bad = [
      [{ errorThresholdPercentage: 150 }, 'errorThresholdPercentage'],
      [{ volumeThreshold: -1 }, 'volumeThreshold'],
      [{ resetTimeoutMs: Number.NaN }, 'resetTimeoutMs'],
      [{ timeoutMs: 'soon' }, 'timeoutMs'],
      [{ maxBreakers: 0 }, 'maxBreakers'],
      [{ isFailure: 3 }, 'isFailure'],
      [{ isIgnored: 'yes' }, 'isIgnored'],
      [{ routes: { 'GET /x': { capacity: 0 } } }, 'routes["GET /x"].capacity'],
    ] as const
    for (const [options, name] of bad) {
      let caught: unknown
      try {
        createBreakerRegistry(options as never)
      } catch (error) {
        caught = error
      }
      expect(isInvalidOptionError(caught)).toBe(true)
      expect((caught as { option: string }).option).toBe(name)
    }
  })

  it('applies defaults and per-route overrides', () => {
    registry = createBreakerRegistry({ routes: { 'GET /slow': { timeoutMs: 2_000 } } })
    expect(registry.get('GET /fast').options).toMatchObject({
      errorThresholdPercentage: 50,
      volumeThreshold: 10,
      rollingCountTimeoutMs: 10_000,
      resetTimeoutMs: 30_000,
      timeoutMs: 10_000,
    })
    expect(registry.get('GET /slow').options.timeoutMs).toBe(2_000)
    expect(registry.get('GET /slow').options.resetTimeoutMs).toBe(30_000)
  })

  it('is an LRU bounded by maxBreakers and shuts evicted breakers down', async () => {
    const metrics = new Registry()
    registry = createBreakerRegistry({ maxBreakers: 100, metrics })
    for (let i = 0; i < 10_000; i++) registry.get(`GET /r${i}`).acquire()
    expect(registry.size).toBe(100)
    expect(registry.keys()[0]).toBe('GET /r9900')
    expect(registry.peek('GET /r0')).toBeUndefined()
    // Touching a key makes it most recent.
    registry.get('GET /r9900')
    registry.get('GET /new')
    expect(registry.peek('GET /r9900')).toBeDefined()
    expect(registry.peek('GET /r9901')).toBeUndefined()
    const gauge = await metrics.getSingleMetric('scanner_breaker_state')?.get()
    expect(gauge?.values).toHaveLength(100)
  })

  it('opens after the threshold, computes Retry-After and emits events', async () => {
    registry = createBreakerRegistry({ volumeThreshold: 2, resetTimeoutMs: 10_000 })
    const seen: string[] = []
    registry.on('open', (e) => seen.push(`${e.key} ${e.previous}->${e.state}`))
    const off = registry.on('close', (e) => seen.push(`${e.key} ${e.state}`))
    const route = registry.get('GET /x')
    for (let i = 0; i < 2; i++) await expect(route.run(fail)).rejects.toThrow('boom')
    expect(route.state).toBe('open')
    expect(seen).toEqual(['GET /x closed->open'])
    expect(route.retryAfter()).toBe(10)
    vi.advanceTimersByTime(2_001)
    expect(route.retryAfter()).toBe(8)
    const rejection = route.acquire()
    expect(rejection).toEqual({ admitted: false, code: 'ERR_BREAKER_OPEN', retryAfter: 8 })
    const error: unknown = await route.run(() => 'never').catch((e: unknown) => e)
    expect(isBreakerError(error, 'ERR_BREAKER_OPEN')).toBe(true)
    expect(error).toMatchObject({ status: 503, retryAfter: 8, key: 'GET /x' })
    expect((error as Error).cause).toMatchObject({ code: 'EOPENBREAKER' })
    off()
  })

  it('allows exactly one trial while half-open', async () => {
    registry = createBreakerRegistry({ volumeThreshold: 1, resetTimeoutMs: 1_000 })
    const route = registry.get('GET /x')
    await expect(route.run(fail)).rejects.toThrow('boom')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(route.state).toBe('half-open')
    const trial = route.acquire()
    expect(trial.admitted).toBe(true)
    expect(route.acquire()).toMatchObject({
      admitted: false,
      code: 'ERR_BREAKER_OPEN',
      retryAfter: 1,
    })
    if (trial.admitted) trial.end(200)
    await vi.advanceTimersByTimeAsync(0)
    expect(route.state).toBe('closed')
  })

  it('times slow calls out, aborting the signal of run()', async () => {
    registry = createBreakerRegistry({ timeoutMs: 100 })
    const route = registry.get('GET /slow')
    let aborted = false
    const pending = route
      .run(
        (signal) =>
          new Promise((resolve) => {
            signal.addEventListener('abort', () => {
              aborted = true
            })
            setTimeout(resolve, 1_000)
          }),
      )
      .catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(100)
    const error = await pending
    expect(isBreakerError(error, 'ERR_BREAKER_TIMEOUT')).toBe(true)
    expect(aborted).toBe(true)
    expect(route.stats()).toMatchObject({ timeouts: 1, failures: 1 })
  })

  it('times out each slow call at its own deadline, and only the slow ones', async () => {
    registry = createBreakerRegistry({ timeoutMs: 100, volumeThreshold: 100 })
    const route = registry.get('GET /slow')
    const acquire = () => {
      const call = route.acquire()
      if (!call.admitted) throw new Error('refused')
      return call
    }
    const first = acquire() // t=0, deadline 100
    await vi.advanceTimersByTimeAsync(40)
    const second = acquire() // t=40, deadline 140
    await vi.advanceTimersByTimeAsync(40)
    const third = acquire() // t=80, deadline 180
    await vi.advanceTimersByTimeAsync(10)
    second.end(200) // t=90: in time
    await vi.advanceTimersByTimeAsync(9)
    expect(route.stats()).toMatchObject({ timeouts: 0, successes: 1 }) // t=99
    await vi.advanceTimersByTimeAsync(1)
    expect(route.stats()).toMatchObject({ timeouts: 1, successes: 1 }) // t=100: first
    first.end(200) // too late: ignored
    await vi.advanceTimersByTimeAsync(79)
    expect(route.stats()).toMatchObject({ timeouts: 1, successes: 1 }) // t=179
    await vi.advanceTimersByTimeAsync(1)
    expect(route.stats()).toMatchObject({ timeouts: 2, failures: 2, successes: 1 }) // t=180
    third.end(200)
    const fourth = acquire() // t=180, deadline 280
    fourth.end(503)
    expect(route.stats()).toMatchObject({ timeouts: 2, failures: 3, successes: 1 })
    // Nothing left running: the last armed timer fires once, finds nothing and is not re-armed.
    await vi.advanceTimersByTimeAsync(100)
    expect(route.stats()).toMatchObject({ timeouts: 2, failures: 3, successes: 1 })
    expect(vi.getTimerCount()).toBe(1) // the shared bucket rotation interval only
  })

  it('rejects beyond capacity with ERR_BREAKER_CAPACITY, keeping the opossum error as cause', async () => {
    registry = createBreakerRegistry({ capacity: 1 })
    const route = registry.get('GET /x')
    const first = route.acquire()
    expect(first.admitted).toBe(true)
    expect(route.acquire()).toMatchObject({ admitted: false, code: 'ERR_BREAKER_CAPACITY' })
    const error: unknown = await route.run(() => 1).catch((e: unknown) => e)
    expect(isBreakerError(error, 'ERR_BREAKER_CAPACITY')).toBe(true)
    expect((error as Error).cause).toMatchObject({ code: 'ESEMLOCKED' })
    if (first.admitted) first.end(200)
    await vi.advanceTimersByTimeAsync(0)
    await expect(route.run(() => 2)).resolves.toBe(2)
  })

  it('honours isFailure (with isIgnored: () => false, the 0.1 behaviour for 4xx)', async () => {
    registry = createBreakerRegistry({
      volumeThreshold: 1,
      isFailure: (status) => status >= 400,
      isIgnored: () => false,
    })
    const route = registry.get('GET /x')
    const call = route.acquire()
    if (call.admitted) call.end(404)
    await vi.advanceTimersByTimeAsync(0)
    expect(route.state).toBe('open')
  })

  it('forces open, forces closed and resets, per route and for all', async () => {
    registry = createBreakerRegistry({ volumeThreshold: 1 })
    const events: string[] = []
    registry.on('open', (e) => events.push(`open ${e.key} ${String(e.forced)}`))
    registry.on('close', (e) => events.push(`close ${e.key} ${String(e.forced)}`))
    const a = registry.get('GET /a')
    const b = registry.get('GET /b')
    registry.forceOpen()
    expect([a.state, b.state]).toEqual(['open', 'open'])
    expect(a.acquire().admitted).toBe(false)
    registry.forceClose('GET /a')
    expect(a.state).toBe('closed')
    // Forced closed: failures never open it.
    for (let i = 0; i < 5; i++) await expect(a.run(fail)).rejects.toThrow('boom')
    expect(a.state).toBe('closed')
    registry.reset()
    expect(b.state).toBe('closed')
    expect(a.stats()).toMatchObject({ failures: 0, requests: 0, forced: undefined })
    expect(events).toEqual([
      'open GET /a open',
      'open GET /b open',
      'close GET /a closed',
      'close GET /b undefined',
    ])
  })

  it('reports stats and registers prom-client metrics', async () => {
    const metrics = new Registry()
    registry = createBreakerRegistry({ volumeThreshold: 2, metrics })
    const route = registry.get('GET /x')
    await route.run(() => 'ok')
    await expect(route.run(fail)).rejects.toThrow()
    await expect(route.run(fail)).rejects.toThrow()
    expect(route.acquire().admitted).toBe(false)
    expect(registry.stats()).toEqual([
      {
        key: 'GET /x',
        state: 'open',
        forced: undefined,
        requests: 4,
        successes: 1,
        ignored: 0,
        failures: 2,
        timeouts: 0,
        rejections: 1,
        errorRate: 66.67,
        windowCalls: 3,
        openedAt: Date.parse('2030-01-01T00:00:00Z'),
        nextAttemptAt: Date.parse('2030-01-01T00:00:30Z'),
      },
    ])
    const text = await metrics.metrics()
    expect(text).toContain('scanner_breaker_state{route="GET /x"} 2')
    expect(text).toContain('scanner_breaker_calls_total{route="GET /x",result="rejected"} 1')
    expect(text).toContain('scanner_breaker_calls_total{route="GET /x",result="failure"} 2')
    expect(text).toContain('scanner_breaker_transitions_total{route="GET /x",state="open"} 1')
  })

  it('closes idempotently, also through its signal', async () => {
    const controller = new AbortController()
    registry = createBreakerRegistry({ signal: controller.signal })
    registry.get('GET /x')
    controller.abort()
    expect(registry.closed).toBe(true)
    expect(registry.size).toBe(0)
    await registry.close()
    expect(() => registry?.get('GET /x')).toThrow(/closed/)
  })
})

describe('timers', () => {
  it('never keep the process alive', async () => {
    vi.useRealTimers()
    const fixture = fileURLToPath(new URL('../test/fixtures/keep-alive.ts', import.meta.url))
    const started = Date.now()
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>(
      (resolve) => {
        const child = execFile(
          process.execPath,
          ['--conditions=@scanner/source', '--import', 'tsx', fixture],
          { timeout: 20_000 },
          (error, out) => {
            resolve({ code: error ? (error.code as number | null) : 0, stdout: out })
          },
        )
        child.stdin?.end()
      },
    )
    expect(stdout).toContain('open')
    expect(code).toBe(0)
    // The fixture's timers are 60 s long: exiting at all proves they are unref'd.
    expect(Date.now() - started).toBeLessThan(20_000)
  }, 30_000)
})

describe('ignored calls (4xx by default)', () => {
  const end = (registry: BreakerRegistry, key: string, status: number): void => {
    const call = registry.get(key).acquire()
    if (!call.admitted) throw new Error(`rejected: ${call.code}`)
    call.end(status)
  }

  it('counts 4xx neither as successes nor as failures: 502s with 404s between open', async () => {
    registry = createBreakerRegistry({ volumeThreshold: 4 })
    for (let i = 0; i < 3; i++) {
      end(registry, 'GET /x', 502)
      end(registry, 'GET /x', 404)
      end(registry, 'GET /x', 404)
    }
    expect(registry.get('GET /x').state).toBe('closed')
    end(registry, 'GET /x', 502)
    await vi.advanceTimersByTimeAsync(0)
    const route = registry.get('GET /x')
    expect(route.state).toBe('open')
    expect(route.stats()).toMatchObject({ successes: 0, failures: 4, ignored: 6, errorRate: 100 })
  })

  it('restores 0.1 (4xx are successes) with isIgnored: () => false', async () => {
    registry = createBreakerRegistry({ volumeThreshold: 4, isIgnored: () => false })
    for (let i = 0; i < 4; i++) {
      end(registry, 'GET /x', 502)
      end(registry, 'GET /x', 404)
      end(registry, 'GET /x', 404)
    }
    await vi.advanceTimersByTimeAsync(0)
    expect(registry.get('GET /x').state).toBe('closed')
    expect(registry.get('GET /x').stats()).toMatchObject({ successes: 8, failures: 4, ignored: 0 })
  })

  it('an ignored half-open trial leaves the breaker half-open for the next trial', async () => {
    registry = createBreakerRegistry({ volumeThreshold: 1, resetTimeoutMs: 1_000 })
    end(registry, 'GET /x', 500)
    await vi.advanceTimersByTimeAsync(1_000)
    const route = registry.get('GET /x')
    expect(route.state).toBe('half-open')
    const trial = route.acquire()
    expect(trial.admitted).toBe(true)
    expect(route.acquire().admitted).toBe(false) // one trial at a time
    if (trial.admitted) trial.end(404)
    expect(route.state).toBe('half-open')
    end(registry, 'GET /x', 200)
    expect(route.state).toBe('closed')
  })

  it('a failed direct half-open trial reopens the breaker', async () => {
    registry = createBreakerRegistry({ volumeThreshold: 1, resetTimeoutMs: 1_000 })
    end(registry, 'GET /x', 500)
    await vi.advanceTimersByTimeAsync(1_000)
    end(registry, 'GET /x', 503)
    await vi.advanceTimersByTimeAsync(0)
    expect(registry.get('GET /x').state).toBe('open')
  })
})

describe('deferred slow-call clock', () => {
  it('starts at startClock(), not at acquire(true)', async () => {
    registry = createBreakerRegistry({ timeoutMs: 100, volumeThreshold: 1 })
    const route = registry.get('GET /upload')
    const call = route.acquire(true)
    if (!call.admitted) throw new Error('rejected')
    await vi.advanceTimersByTimeAsync(10_000) // a slow upload: no clock yet
    expect(route.stats()).toMatchObject({ timeouts: 0, state: 'closed' })
    call.startClock()
    call.startClock() // idempotent
    await vi.advanceTimersByTimeAsync(99)
    expect(route.stats().timeouts).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(route.stats()).toMatchObject({ timeouts: 1, state: 'open' })
  })

  it('a call that ends before its clock started is never a timeout', async () => {
    registry = createBreakerRegistry({ timeoutMs: 100 })
    const route = registry.get('GET /upload')
    const call = route.acquire(true)
    if (!call.admitted) throw new Error('rejected')
    await vi.advanceTimersByTimeAsync(1_000)
    call.end(499)
    call.startClock()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(route.stats()).toMatchObject({ timeouts: 0, failures: 0, ignored: 1 })
  })

  it('defers the clock through fire() too (capacity set)', async () => {
    registry = createBreakerRegistry({ timeoutMs: 100, capacity: 5, volumeThreshold: 1 })
    const route = registry.get('GET /upload')
    const call = route.acquire(true)
    if (!call.admitted) throw new Error('rejected')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(route.stats().timeouts).toBe(0)
    call.startClock()
    await vi.advanceTimersByTimeAsync(100)
    expect(route.stats().timeouts).toBe(1)
  })
})
