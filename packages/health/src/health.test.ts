import { Registry } from 'prom-client'
import { describe, expect, it, vi } from 'vitest'
import type { Logger } from '@scanner/core'
import { createHealth, fetchHeaders, toResponse } from './health.js'

const get = (path: string, headers: Record<string, string> = {}) => ({
  method: 'GET',
  path,
  headers,
  remoteAddress: '127.0.0.1',
})

describe('createHealth', () => {
  it('answers 404 outside its routes and 405 for other methods', async () => {
    const health = createHealth()
    const missing = await health.handle(get('/health/unknown'))
    expect(missing.status).toBe(404)
    const post = await health.handle({ ...get('/health/live/'), method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
    const live = await health.handle(get('/health/live/?probe=1'))
    expect(live.status).toBe(200)
    // Servers may add to the headers (@hono/node-server adds Content-Length): never shared or frozen.
    expect(Object.isFrozen(live.headers)).toBe(false)
    expect((await health.handle(get('/health/live/'))).headers).not.toBe(live.headers)
    // Paths and methods as a caller of handle() may spell them: normalised.
    expect((await health.handle(get('/health/live?probe=1'))).status).toBe(200)
    expect((await health.handle({ ...get('/health/live'), method: 'get' })).status).toBe(200)
    const head = await health.handle({ ...get('/health/live'), method: 'head' })
    expect([head.status, head.body]).toEqual([200, ''])
    expect((await health.handle({ ...get('/health/live'), method: 'post' })).status).toBe(405)
  })

  it('answers synchronously with respond() when no check has to run', async () => {
    vi.useFakeTimers()
    try {
      let runs = 0
      const health = createHealth({
        cacheTtlMs: 1000,
        checks: [
          {
            name: 'db',
            run: () => {
              runs++
              return {}
            },
          },
        ],
      })
      // Liveness and 404/405 never wait for anything.
      const live = health.respond(get('/health/live/'))
      expect(live).not.toBeInstanceOf(Promise)
      expect(live).toMatchObject({ status: 200, body: '{"status":"alive"}' })
      expect(health.respond(get('/nope'))).toMatchObject({ status: 404 })
      // The first detailed request runs the check: a promise.
      const ranAt = new Date().toISOString()
      const first = health.respond(get('/health/detailed/'))
      expect(first).toBeInstanceOf(Promise)
      expect(await first).toMatchObject({ status: 200 })
      expect(runs).toBe(1)
      // While the result is cached, every endpoint answers at once, with the time of the result.
      vi.advanceTimersByTime(500)
      const cached = health.respond(get('/health/detailed/'))
      expect(cached).not.toBeInstanceOf(Promise)
      const body = JSON.parse((cached as { body: string }).body) as Record<string, unknown>
      expect(body).toMatchObject({ status: 'healthy', components: { db: { status: 'healthy' } } })
      expect(body.timestamp).toBe(ranAt)
      expect(health.respond(get('/health/ready/'))).toMatchObject({ status: 200 })
      expect(health.respond(get('/health/'))).toMatchObject({ status: 200 })
      expect(runs).toBe(1)
      // Once the TTL has passed, the check runs again.
      vi.advanceTimersByTime(500)
      const stale = health.respond(get('/health/ready/'))
      expect(stale).toBeInstanceOf(Promise)
      await stale
      expect(runs).toBe(2)
      // The TTL is measured on the monotonic clock: a wall clock stepped back an hour (NTP, a
      // resumed VM) neither keeps the results fresh nor changes when they expire.
      vi.setSystemTime(Date.now() - 3_600_000)
      expect(health.respond(get('/health/ready/'))).not.toBeInstanceOf(Promise)
      vi.advanceTimersByTime(1000)
      const afterStep = health.respond(get('/health/ready/'))
      expect(afterStep).toBeInstanceOf(Promise)
      await afterStep
      expect(runs).toBe(3)
      // Draining readiness needs no check either.
      health.drain()
      vi.advanceTimersByTime(5000)
      expect(health.respond(get('/health/ready/'))).toMatchObject({ status: 503 })
      await health.close()
    } finally {
      vi.useRealTimers()
    }
  })

  it('lists its routes for adapters and serves at the root with prefix "/"', async () => {
    const health = createHealth({ prefix: '/' })
    expect(health.prefix).toBe('')
    expect(health.routes.map((r) => r.path)).toEqual(['/', '/detailed', '/ready', '/live'])
    expect((await health.handle(get('/'))).status).toBe(200)
    expect((await health.handle(get('/live/'))).status).toBe(200)
    expect(createHealth({ prefix: '/status/' }).routes[0]!.path).toBe('/status')
  })

  it('answers Fetch API requests', async () => {
    const health = createHealth({ details: 'always' })
    const res = await health.fetch(new Request('http://localhost/health/live/'))
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual({ status: 'alive' })
    const head = await health.fetch(new Request('http://localhost/health/', { method: 'HEAD' }))
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    expect(toResponse({ status: 503, headers: {}, body: '{}' }).status).toBe(503)
    const headers = fetchHeaders(new Headers({ 'X-Role': 'ops', Accept: 'text/plain' }))
    expect(headers['x-role']).toBe('ops')
    expect(headers['x-missing']).toBeUndefined()
    expect({ ...headers }).toEqual({ accept: 'text/plain', 'x-role': 'ops' })
    expect('accept' in headers).toBe(true)
  })

  it('reports with run() and caches results for the TTL', async () => {
    let calls = 0
    const health = createHealth({
      cacheTtlMs: 60_000,
      checks: [{ name: 'db', run: () => ({ latency_ms: ++calls }) }],
    })
    const first = await health.run()
    expect(first).toMatchObject({
      status: 'healthy',
      failing: [],
      components: { db: { status: 'healthy', latency_ms: 1 } },
    })
    await health.run()
    expect(calls).toBe(1)
    const uncached = createHealth({
      cacheTtlMs: 0,
      checks: [{ name: 'db', run: () => ({ n: ++calls }) }],
    })
    await uncached.run()
    await uncached.run()
    expect(calls).toBe(3)
  })

  it('validates its options, naming the option', () => {
    expect(() => createHealth({ prefix: 'health' })).toThrow(/"prefix"/)
    expect(() => createHealth({ timeoutMs: 0 })).toThrow(/"timeoutMs"/)
    expect(() => createHealth({ deadlineMs: Number.NaN })).toThrow(/"deadlineMs"/)
    expect(() => createHealth({ cacheTtlMs: -1 })).toThrow(/"cacheTtlMs"/)
    expect(() => createHealth({ format: 'xml' as never })).toThrow(/"format"/)
    expect(() => createHealth({ details: 'some' as never })).toThrow(/"details"/)
    expect(() => createHealth({ details: { token: '' } })).toThrow(/"details.token"/)
    expect(() => createHealth({ service: 3 as never })).toThrow(/"service"/)
    expect(() => createHealth({ checks: [{ name: 'a' } as never] })).toThrow(/"checks\[0\].run"/)
    const check = { name: 'a', run: () => ({}) }
    expect(() => createHealth({ checks: [check, check] })).toThrow(/"checks\[1\].name"/)
    expect(() => createHealth({ checks: [{ ...check, timeoutMs: -5 }] })).toThrow(
      /"checks\[0\].timeoutMs"/,
    )
    expect(() => createHealth({ logger: {} as never })).toThrow(/"logger"/)
  })

  it('never echoes the token in a validation error', () => {
    const secret = 's3cr3t-health-token-value'
    const thrown = (details: unknown): string => {
      try {
        createHealth({ details: details as never })
      } catch (error) {
        return String(error)
      }
      throw new Error('createHealth did not throw')
    }
    // A token of the wrong type, and a token passed as the policy itself.
    for (const details of [{ token: 42 }, { token: [secret] }, secret]) {
      const message = thrown(details)
      expect(message).toMatch(/Invalid option "details(\.token)?"/)
      expect(message).not.toContain(secret)
      expect(message).not.toContain('42')
    }
  })

  it('caches the answer when there are no checks, without a timer warning', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const health = createHealth({ cacheTtlMs: 60_000 })
      expect((await health.handle(get('/health/ready/'))).status).toBe(200)
      // Cached: answered synchronously, no check run pending.
      expect(health.respond(get('/health/ready/'))).not.toBeInstanceOf(Promise)
      await health.close()
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.map((w) => w.name)).not.toContain('TimeoutOverflowWarning')
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('records prom-client metrics on the registry it is given', async () => {
    const registry = new Registry()
    const health = createHealth({
      metrics: registry,
      checks: [
        { name: 'db', run: () => ({}) },
        { name: 'bad', critical: false, run: () => ({ status: 'degraded' }) },
      ],
    })
    await health.handle(get('/health/detailed/'))
    await health.handle(get('/health/live/'))
    const text = await registry.metrics()
    expect(text).toContain(
      'scanner_health_check_duration_seconds_count{check="db",status="healthy"} 1',
    )
    expect(text).toContain('scanner_health_check_status{check="bad",status="degraded"} 1')
    expect(text).toContain('scanner_health_check_status{check="bad",status="healthy"} 0')
    expect(text).toContain('scanner_health_requests_total{endpoint="detailed",code="200"} 1')
    expect(text).toContain('scanner_health_requests_total{endpoint="live",code="200"} 1')
    // A second instance reuses the metrics on the same registry.
    expect(() => createHealth({ metrics: registry })).not.toThrow()
  })

  it('logs status changes of a check once, not on every run', async () => {
    const warn = vi.fn()
    const info = vi.fn()
    const logger: Logger = { debug: vi.fn(), info, warn, error: vi.fn(), child: () => logger }
    let failing = true
    const health = createHealth({
      logger,
      cacheTtlMs: 0,
      checks: [{ name: 'db', run: () => (failing ? Promise.reject(new Error('down')) : {}) }],
    })
    await health.run()
    await health.run()
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0]![0]).toMatchObject({
      check: 'db',
      status: 'unhealthy',
      error: 'down',
    })
    failing = false
    await health.run()
    expect(info).toHaveBeenCalledWith(
      expect.objectContaining({ check: 'db' }),
      'health check recovered',
    )
  })

  it('keeps answering when a details predicate throws (details hidden)', async () => {
    const health = createHealth({
      details: () => {
        throw new Error('nope')
      },
    })
    const res = await health.handle(get('/health/detailed/'))
    expect(res.status).toBe(200)
    expect(Object.keys(JSON.parse(res.body) as object).sort()).toEqual(['status', 'timestamp'])
  })

  it('answers 503 instead of throwing when the request itself is malformed', async () => {
    const health = createHealth()
    const res = await health.handle({
      method: undefined as never,
      path: '/health/live/',
      headers: {},
    })
    expect(res.status).toBe(503)
  })

  it('drains on close, idempotently, and aborts running checks', async () => {
    let signal: AbortSignal | undefined
    const health = createHealth({
      checks: [
        {
          name: 'slow',
          timeoutMs: 60_000,
          run: (s) => {
            signal = s
            return new Promise(() => undefined)
          },
        },
      ],
      deadlineMs: 50,
    })
    await health.run()
    await health.close()
    await health.close()
    expect(signal?.aborted).toBe(true)
    expect(health.draining).toBe(true)
    expect((await health.handle(get('/health/ready/'))).status).toBe(503)
    expect((await health.handle(get('/health/live/'))).status).toBe(200)
  })
})
