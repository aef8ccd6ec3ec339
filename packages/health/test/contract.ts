/**
 * The contract every adapter must honour, run by express.test.ts (real server on port 0 and
 * fetch), fastify.test.ts (inject) and hono.test.ts (app.request). Each client makes requests
 * that the framework sees as coming from a loopback address.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  createHealth,
  databaseCheck,
  systemCheck,
  type Health,
  type HealthCheck,
  type HealthOptions,
} from '@scanner/health'

/** A response as the contract sees it: status, lower-case headers, body text. */
export interface ClientResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** Sends requests to one adapter mounted over one health instance. */
export interface Client {
  request(
    path: string,
    init?: { readonly method?: string; readonly headers?: Readonly<Record<string, string>> },
  ): Promise<ClientResponse>
  close(): Promise<void>
}

export type MakeClient = (health: Health) => Promise<Client>

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function counting(name: string, options: Partial<HealthCheck> & { delayMs?: number } = {}) {
  let calls = 0
  const check: HealthCheck = {
    name,
    ...options,
    async run() {
      calls++
      await delay(options.delayMs ?? 0)
      return { latency_ms: 1.5 }
    },
  }
  return { check, calls: () => calls }
}

function json(res: ClientResponse): Record<string, unknown> {
  return JSON.parse(res.body) as Record<string, unknown>
}

export function describeAdapter(name: string, makeClient: MakeClient): void {
  describe(`${name} adapter contract`, () => {
    const opened: { health: Health; client: Client }[] = []
    afterEach(async () => {
      for (const { health, client } of opened.splice(0)) {
        await client.close()
        await health.close()
      }
    })

    async function setup(options: HealthOptions = {}): Promise<{ health: Health; client: Client }> {
      const health = createHealth({ service: 'scanner-api', version: '1.2.3', ...options })
      const client = await makeClient(health)
      opened.push({ health, client })
      return { health, client }
    }

    const healthyChecks = (): HealthCheck[] => [
      databaseCheck({ ping: () => delay(1) }),
      { name: 'tunnel', critical: false, run: () => ({ state: 'running' }) },
      systemCheck({ cpuPercent: 100, memoryPercent: 100, eventLoopDelayMs: 60_000 }),
    ]

    it('serves /health/live/ and /health/live with 200, JSON and Cache-Control: no-store', async () => {
      const { client } = await setup()
      for (const path of ['/health/live/', '/health/live']) {
        const res = await client.request(path)
        expect(res.status).toBe(200)
        expect(res.headers['content-type']).toMatch(/^application\/json/)
        expect(res.headers['cache-control']).toBe('no-store')
        expect(json(res)).toEqual({ status: 'alive' })
      }
    })

    it('serves the basic endpoint with service, version and system figures', async () => {
      const { client } = await setup({ checks: healthyChecks() })
      for (const path of ['/health/', '/health']) {
        const res = await client.request(path)
        expect(res.status).toBe(200)
        expect(res.headers['cache-control']).toBe('no-store')
        const body = json(res)
        expect(body).toMatchObject({ status: 'healthy', service: 'scanner-api', version: '1.2.3' })
        expect(body.timestamp).toMatch(ISO)
        const system = body.system as Record<string, unknown>
        expect(typeof system.cpu_percent).toBe('number')
        expect(typeof system.memory_percent).toBe('number')
        expect(system.load_avg).toHaveLength(3)
        expect(typeof system.uptime_s).toBe('number')
      }
    })

    it('serves every component in /health/detailed/', async () => {
      const { client } = await setup({ checks: healthyChecks() })
      for (const path of ['/health/detailed/', '/health/detailed']) {
        const res = await client.request(path)
        expect(res.status).toBe(200)
        const body = json(res)
        expect(body.status).toBe('healthy')
        expect(body.timestamp).toMatch(ISO)
        const components = body.components as Record<string, Record<string, unknown>>
        expect(components.database).toMatchObject({ status: 'healthy' })
        expect(typeof components.database!.latency_ms).toBe('number')
        expect(components.tunnel).toEqual({ status: 'healthy', state: 'running' })
        expect(components.system).toMatchObject({ status: 'healthy' })
        expect(typeof components.system!.cpu_percent).toBe('number')
        expect(typeof components.system!.memory_percent).toBe('number')
      }
    })

    it('serves /health/ready/ with 200 when critical checks pass', async () => {
      const { client } = await setup({ checks: healthyChecks() })
      for (const path of ['/health/ready/', '/health/ready']) {
        const res = await client.request(path)
        expect(res.status).toBe(200)
        expect(res.headers['cache-control']).toBe('no-store')
        expect(json(res)).toEqual({ status: 'ready' })
      }
    })

    it('answers HEAD on every endpoint with the status and headers and no body', async () => {
      const { client } = await setup({ checks: healthyChecks() })
      for (const path of ['/health/', '/health/detailed/', '/health/ready/', '/health/live/']) {
        const res = await client.request(path, { method: 'HEAD' })
        expect(res.status).toBe(200)
        expect(res.headers['cache-control']).toBe('no-store')
        expect(res.body).toBe('')
      }
    })

    it('reports a failing critical check as unhealthy (503) and not ready; liveness stays 200', async () => {
      const { client } = await setup({
        checks: [
          databaseCheck({
            ping: () => Promise.reject(new Error('connection refused')),
          }),
          { name: 'cache', critical: false, run: () => ({}) },
        ],
      })
      const detailed = await client.request('/health/detailed/')
      expect(detailed.status).toBe(503)
      expect(json(detailed)).toMatchObject({
        status: 'unhealthy',
        components: {
          database: { status: 'unhealthy', error: 'connection refused' },
          cache: { status: 'healthy' },
        },
      })
      const basic = await client.request('/health/')
      expect(basic.status).toBe(503)
      expect(json(basic).status).toBe('unhealthy')
      const ready = await client.request('/health/ready/')
      expect(ready.status).toBe(503)
      expect(json(ready)).toEqual({ status: 'not_ready', failing: ['database'] })
      expect((await client.request('/health/live/')).status).toBe(200)
    })

    it('reports a failing non-critical check as degraded (200) and still ready', async () => {
      const { client } = await setup({
        checks: [
          databaseCheck({ ping: () => undefined }),
          {
            name: 'search',
            critical: false,
            run: () => {
              throw new Error('search index offline')
            },
          },
          { name: 'queue', critical: true, run: () => ({ status: 'degraded', error: 'lagging' }) },
        ],
      })
      const detailed = await client.request('/health/detailed/')
      expect(detailed.status).toBe(200)
      expect(json(detailed)).toMatchObject({
        status: 'degraded',
        components: {
          search: { status: 'unhealthy', error: 'search index offline' },
          queue: { status: 'degraded', error: 'lagging' },
        },
      })
      expect((await client.request('/health/ready/')).status).toBe(200)
    })

    it('serves application/health+json when Accept prefers it', async () => {
      const { client } = await setup({ checks: healthyChecks() })
      const headers = { accept: 'application/health+json' }
      const detailed = await client.request('/health/detailed/', { headers })
      expect(detailed.status).toBe(200)
      expect(detailed.headers['content-type']).toMatch(/^application\/health\+json/)
      expect(detailed.headers['cache-control']).toBe('no-store')
      const body = json(detailed)
      expect(body).toMatchObject({ status: 'pass', serviceId: 'scanner-api', releaseId: '1.2.3' })
      const checks = body.checks as Record<string, Record<string, unknown>[]>
      expect(checks['database:responseTime']![0]).toMatchObject({
        componentId: 'database',
        status: 'pass',
        observedUnit: 'ms',
      })
      expect(checks['cpu:utilization']![0]).toMatchObject({ componentId: 'system', status: 'pass' })
      expect(checks.tunnel![0]).toMatchObject({ componentId: 'tunnel', status: 'pass' })
      expect(json(await client.request('/health/live/', { headers }))).toEqual({ status: 'pass' })
      expect(json(await client.request('/health/ready/', { headers }))).toEqual({ status: 'pass' })
      const plain = await client.request('/health/detailed/', {
        headers: { accept: 'application/json, application/health+json;q=0.5' },
      })
      expect(plain.headers['content-type']).toMatch(/^application\/json/)
    })

    it('serves application/health+json to everyone when format is health+json', async () => {
      const { client } = await setup({
        format: 'health+json',
        checks: [databaseCheck({ ping: () => Promise.reject(new Error('down')) })],
      })
      const res = await client.request('/health/detailed/')
      expect(res.status).toBe(503)
      expect(res.headers['content-type']).toMatch(/^application\/health\+json/)
      expect(json(res)).toMatchObject({
        status: 'fail',
        checks: { 'database:responseTime': [{ status: 'fail', output: 'down' }] },
      })
      const ready = await client.request('/health/ready/')
      expect(ready.status).toBe(503)
      expect(json(ready)).toEqual({ status: 'fail', output: 'not ready: database' })
    })

    it('shows details to loopback callers by default, not to proxied ones', async () => {
      const { client } = await setup({ checks: healthyChecks() })
      const local = json(await client.request('/health/detailed/'))
      expect(local.components).toBeDefined()
      for (const header of ['x-forwarded-for', 'cf-connecting-ip', 'forwarded']) {
        const res = await client.request('/health/detailed/', {
          headers: { [header]: header === 'forwarded' ? 'for=203.0.113.9' : '203.0.113.9' },
        })
        expect(res.status).toBe(200)
        expect(Object.keys(json(res)).sort()).toEqual(['status', 'timestamp'])
        const basic = json(
          await client.request('/health/', { headers: { [header]: '203.0.113.9' } }),
        )
        expect(basic.version).toBeUndefined()
        expect(basic.system).toBeUndefined()
        expect(basic).toMatchObject({ status: 'healthy', service: 'scanner-api' })
      }
    })

    it('honours details: "never" and "always"', async () => {
      const never = await setup({ details: 'never', checks: healthyChecks() })
      const hidden = json(await never.client.request('/health/detailed/'))
      expect(Object.keys(hidden).sort()).toEqual(['status', 'timestamp'])
      const always = await setup({ details: 'always', checks: healthyChecks() })
      const shown = json(
        await always.client.request('/health/detailed/', {
          headers: { 'x-forwarded-for': '203.0.113.9' },
        }),
      )
      expect(shown.components).toBeDefined()
    })

    it('shows details to holders of the token only (constant-time compare)', async () => {
      const { client } = await setup({
        details: { token: 's3cret-token', loopback: false },
        checks: healthyChecks(),
      })
      const keys = async (headers?: Record<string, string>) =>
        Object.keys(json(await client.request('/health/detailed/', { headers }))).sort()
      expect(await keys()).toEqual(['status', 'timestamp'])
      expect(await keys({ authorization: 'Bearer wrong' })).toEqual(['status', 'timestamp'])
      expect(await keys({ authorization: 'Bearer s3cret-token-and-more' })).toEqual([
        'status',
        'timestamp',
      ])
      expect(await keys({ authorization: 'Bearer s3cret-token' })).toContain('components')
      expect(await keys({ 'x-health-token': 's3cret-token' })).toContain('components')
    })

    it('shows details when the predicate allows it', async () => {
      const { client } = await setup({
        details: (request) => request.headers['x-role'] === 'ops',
        checks: healthyChecks(),
      })
      const denied = json(await client.request('/health/detailed/'))
      expect(denied.components).toBeUndefined()
      const allowed = json(
        await client.request('/health/detailed/', { headers: { 'x-role': 'ops' } }),
      )
      expect(allowed.components).toBeDefined()
    })

    it('drains: readiness answers 503 draining while liveness stays 200', async () => {
      const { health, client } = await setup({ checks: healthyChecks() })
      expect((await client.request('/health/ready/')).status).toBe(200)
      health.drain()
      expect(health.draining).toBe(true)
      const ready = await client.request('/health/ready/')
      expect(ready.status).toBe(503)
      expect(json(ready)).toEqual({ status: 'draining' })
      const live = await client.request('/health/live/')
      expect(live.status).toBe(200)
      expect(json(live)).toEqual({ status: 'alive' })
    })

    it('turns a throwing check or garbage result into an unhealthy component', async () => {
      const { client } = await setup({
        checks: [
          {
            name: 'throws',
            run: () => {
              throw new Error('boom')
            },
          },
          { name: 'rejects', run: () => Promise.reject(new TypeError('bad state')) },
          { name: 'number', run: () => 42 as never },
          { name: 'bad-status', run: () => ({ status: 'great' as never }) },
          { name: 'circular', critical: false, run: () => circular() },
        ],
      })
      const res = await client.request('/health/detailed/')
      expect(res.status).toBe(503)
      const components = json(res).components as Record<string, Record<string, unknown>>
      expect(components.throws).toEqual({ status: 'unhealthy', error: 'boom' })
      expect(components.rejects).toEqual({ status: 'unhealthy', error: 'bad state' })
      expect(components.number!.status).toBe('unhealthy')
      expect(components.number!.error).toMatch(/invalid result/)
      expect(components['bad-status']!.status).toBe('unhealthy')
      expect(components['bad-status']!.error).toMatch(/invalid status/)
      expect(components.circular).toEqual({ status: 'healthy', self: '[unserializable]', n: '10' })
    })

    it('answers within the deadline when a check hangs, marking it timed out', async () => {
      let aborted = false
      const { client } = await setup({
        deadlineMs: 300,
        checks: [
          databaseCheck({ ping: () => undefined }),
          {
            name: 'hangs',
            timeoutMs: 60_000,
            run: (signal) =>
              new Promise(() => {
                signal.addEventListener('abort', () => {
                  aborted = true
                })
              }),
          },
        ],
      })
      const started = performance.now()
      const res = await client.request('/health/detailed/')
      const elapsed = performance.now() - started
      expect(elapsed).toBeLessThan(2000)
      expect(res.status).toBe(503)
      const components = json(res).components as Record<string, Record<string, unknown>>
      expect(components.database!.status).toBe('healthy')
      expect(components.hangs!.status).toBe('unhealthy')
      expect(components.hangs!.error).toMatch(/timed out.*300 ms request deadline/)
      expect(aborted).toBe(false)
    })

    it('aborts a check at its own timeout and reports it', async () => {
      let aborted = false
      const { client } = await setup({
        timeoutMs: 100,
        checks: [
          {
            name: 'slow',
            run: (signal) =>
              new Promise(() => {
                signal.addEventListener('abort', () => {
                  aborted = true
                })
              }),
          },
        ],
      })
      const res = await client.request('/health/detailed/')
      const components = json(res).components as Record<string, Record<string, unknown>>
      expect(components.slow).toEqual({ status: 'unhealthy', error: 'timed out after 100 ms' })
      expect(aborted).toBe(true)
    })

    it('runs each check once for 1,000 concurrent requests', async () => {
      const checks = [
        counting('database', { delayMs: 50 }),
        counting('cache', { delayMs: 20 }),
        counting('queue', { critical: false }),
      ]
      const { client } = await setup({ cacheTtlMs: 60_000, checks: checks.map((c) => c.check) })
      const paths = ['/health/detailed/', '/health/', '/health/ready/']
      const responses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => client.request(paths[i % paths.length]!)),
      )
      expect(responses.every((r) => r.status === 200)).toBe(true)
      expect(checks.map((c) => c.calls())).toEqual([1, 1, 1])
    })

    it('serves the endpoints under a custom prefix only', async () => {
      const { client } = await setup({ prefix: '/status' })
      expect((await client.request('/status/live/')).status).toBe(200)
      expect((await client.request('/status/')).status).toBe(200)
      expect((await client.request('/health/live/')).status).toBe(404)
    })
  })
}

function circular(): Record<string, unknown> {
  const value: Record<string, unknown> = { n: 10n, fn: () => 1 }
  value.self = value
  return value
}
