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
  type HealthStatus,
} from '@scanner/health'

/** A response as the contract sees it: status, lower-case headers, body text. */
export interface ClientResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * Sends requests to one adapter mounted over one health instance. A client must carry at least
 * 50 requests at once (the Express client's agent holds 64 connections).
 */
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

function json(res: ClientResponse): Record<string, unknown> {
  return JSON.parse(res.body) as Record<string, unknown>
}

/** A promise that settles only when the test calls `release()`. */
function latch(): { readonly promise: Promise<void>; readonly release: () => void } {
  let release = (): void => undefined
  const promise = new Promise<void>((resolve) => {
    release = resolve
  })
  return { promise, release }
}

/** A check that counts its runs and does not settle before `gate` does. */
function gated(name: string, gate: Promise<void>, options: Partial<HealthCheck> = {}) {
  let calls = 0
  const check: HealthCheck = {
    name,
    ...options,
    async run() {
      const run = ++calls
      await gate
      return { latency_ms: 1.5, run }
    },
  }
  return { check, calls: () => calls }
}

/**
 * The health instance as an adapter sees it, counting the requests that reach the core:
 * `reached(n)` resolves once `n` calls to `respond`/`handle`/`fetch` have returned, so every
 * one of them has joined (or started) a run by then.
 */
function countingArrivals(health: Health): {
  readonly health: Health
  readonly arrived: () => number
  readonly reached: (n: number) => Promise<void>
} {
  let arrived = 0
  const waiting: { readonly n: number; readonly resolve: () => void }[] = []
  const arrive = <T>(value: T): T => {
    arrived++
    for (const waiter of waiting) if (arrived >= waiter.n) waiter.resolve()
    return value
  }
  const counted: Health = {
    get prefix() {
      return health.prefix
    },
    get routes() {
      return health.routes
    },
    get draining() {
      return health.draining
    },
    respond: (request) => arrive(health.respond(request)),
    handle: (request) => arrive(health.handle(request)),
    fetch: (request, info) => arrive(health.fetch(request, info)),
    run: () => health.run(),
    drain: () => {
      health.drain()
    },
    listenOperator: (options) => health.listenOperator(options),
    close: () => health.close(),
  }
  return {
    health: counted,
    arrived: () => arrived,
    reached: (n) =>
      new Promise<void>((resolve) => {
        if (arrived >= n) resolve()
        else waiting.push({ n, resolve })
      }),
  }
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

    // A time limit no load can reach: a loaded machine (load 30) once took the default 500 ms,
    // and the test meant to see a healthy service saw a failed check.
    const healthyChecks = (): HealthCheck[] => [
      databaseCheck({ ping: () => delay(1), timeoutMs: 60_000 }),
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

    const JSON_TYPE = /^application\/json/
    const HEALTH_JSON_TYPE = /^application\/health\+json/
    const ACCEPT_HEALTH_JSON = { accept: 'application/health+json' }

    /** Sends GET then HEAD to `path`: HEAD must answer like GET, with an empty body. */
    async function expectHead(
      client: Client,
      path: string,
      status: number,
      type: RegExp = JSON_TYPE,
      headers?: Record<string, string>,
    ): Promise<void> {
      const get = await client.request(path, { headers })
      const head = await client.request(path, { method: 'HEAD', headers })
      expect({ path, get: get.status, head: head.status }).toEqual({
        path,
        get: status,
        head: status,
      })
      for (const res of [get, head]) {
        expect(res.headers['content-type']).toMatch(type)
        expect(res.headers['cache-control']).toBe('no-store')
      }
      expect(get.body).not.toBe('')
      expect(head.body).toBe('')
    }

    const bothForms = (endpoint: string): string[] => [`${endpoint}/`, endpoint]

    it('answers HEAD on every endpoint, with or without the trailing slash, like GET with no body', async () => {
      const { client } = await setup({ checks: healthyChecks() })
      for (const endpoint of ['/health', '/health/detailed', '/health/ready', '/health/live']) {
        for (const path of bothForms(endpoint)) {
          await expectHead(client, path, 200)
          await expectHead(client, path, 200, HEALTH_JSON_TYPE, ACCEPT_HEALTH_JSON)
        }
      }
    })

    it('answers HEAD with 503, the headers and no body when unhealthy or draining', async () => {
      const failing = await setup({
        checks: [databaseCheck({ ping: () => Promise.reject(new Error('connection refused')) })],
      })
      for (const endpoint of ['/health', '/health/detailed', '/health/ready']) {
        for (const path of bothForms(endpoint)) {
          await expectHead(failing.client, path, 503)
          await expectHead(failing.client, path, 503, HEALTH_JSON_TYPE, ACCEPT_HEALTH_JSON)
        }
      }
      await expectHead(failing.client, '/health/live', 200)
      const drained = await setup({ checks: healthyChecks() })
      drained.health.drain()
      for (const path of bothForms('/health/ready')) {
        await expectHead(drained.client, path, 503)
        await expectHead(drained.client, path, 503, HEALTH_JSON_TYPE, ACCEPT_HEALTH_JSON)
      }
      await expectHead(drained.client, '/health/live/', 200)
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

    it('serves /health/ in health+json: pass/warn/fail, serviceId, releaseId to authorized callers', async () => {
      // One critical check whose status the test sets; no cache, so each request sees it.
      let state: HealthStatus = 'healthy'
      const check: HealthCheck = {
        name: 'database',
        run: () => (state === 'healthy' ? {} : { status: state, error: `database ${state}` }),
      }
      const viaFormat = await setup({
        format: 'health+json',
        cacheTtlMs: 0,
        details: { token: 's3cret-token', loopback: false },
        checks: [check],
      })
      const viaAccept = await setup({ cacheTtlMs: 0, checks: [check] })
      const cases: { client: Client; headers: Record<string, string>; authorized: boolean }[] = [
        // format: 'health+json' serves it to everyone; the token authorizes.
        { client: viaFormat.client, headers: {}, authorized: false },
        {
          client: viaFormat.client,
          headers: { 'x-health-token': 's3cret-token' },
          authorized: true,
        },
        // format: 'auto' serves it when Accept prefers it; loopback callers are authorized.
        { client: viaAccept.client, headers: ACCEPT_HEALTH_JSON, authorized: true },
        {
          client: viaAccept.client,
          headers: { ...ACCEPT_HEALTH_JSON, 'x-forwarded-for': '203.0.113.9' },
          authorized: false,
        },
      ]
      const expected = [
        { state: 'healthy', code: 200, status: 'pass' },
        { state: 'degraded', code: 200, status: 'warn' },
        { state: 'unhealthy', code: 503, status: 'fail' },
      ] as const
      for (const outcome of expected) {
        state = outcome.state
        for (const { client, headers, authorized } of cases) {
          for (const path of bothForms('/health')) {
            const res = await client.request(path, { headers })
            expect({ path, state, authorized, code: res.status }).toEqual({
              path,
              state,
              authorized,
              code: outcome.code,
            })
            expect(res.headers['content-type']).toMatch(HEALTH_JSON_TYPE)
            expect(res.headers['cache-control']).toBe('no-store')
            expect(json(res)).toEqual({
              status: outcome.status,
              serviceId: 'scanner-api',
              ...(authorized ? { releaseId: '1.2.3' } : {}),
            })
          }
        }
      }
      // Plain JSON when Accept prefers it, even though health+json is acceptable.
      const plain = await viaAccept.client.request('/health/', {
        headers: { accept: 'application/json, application/health+json;q=0.5' },
      })
      expect(plain.headers['content-type']).toMatch(JSON_TYPE)
      expect(json(plain)).toMatchObject({ status: 'unhealthy', service: 'scanner-api' })
    })

    it('shows details to loopback callers by default, not to proxied ones', async () => {
      const { client } = await setup({ checks: healthyChecks() })
      const local = json(await client.request('/health/detailed/'))
      expect(local.components).toBeDefined()
      for (const header of [
        'x-forwarded-for',
        'cf-connecting-ip',
        'forwarded',
        'cf-ray',
        'cdn-loop',
      ]) {
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

    it('answers at the deadline when a check hangs, marking it timed out', async () => {
      // The check never settles unless aborted, and its own timeout is a minute: only the
      // 300 ms deadline can end the request. The upper bound leaves a second of slack for a
      // loaded machine, yet is far below the hang.
      const deadlineMs = 300
      let aborted = false
      const { client } = await setup({
        deadlineMs,
        checks: [
          databaseCheck({ ping: () => undefined }),
          { name: 'cache', critical: false, run: () => ({ hits: 3 }) },
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
      // Timers count whole milliseconds of the event loop's clock (up to 1 ms early): a few ms
      // of slack.
      expect(elapsed).toBeGreaterThanOrEqual(deadlineMs - 5)
      expect(elapsed).toBeLessThan(deadlineMs + 1000)
      expect(res.status).toBe(503)
      const body = json(res)
      expect(body.status).toBe('unhealthy')
      expect(body.components).toEqual({
        database: { status: 'healthy', latency_ms: expect.any(Number) },
        cache: { status: 'healthy', hits: 3 },
        hangs: {
          status: 'unhealthy',
          error: `timed out: no result within the ${deadlineMs} ms request deadline`,
        },
      })
      // The deadline answers without aborting: the check may still finish for the next request.
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

    it('runs each check once for 1,000 concurrent requests that all arrive while it runs', async ({
      signal,
    }) => {
      // No cache: only coalescing can keep the count at one. The checks do not settle before
      // the gate opens, and the gate opens only once all 1,000 requests have reached the core;
      // no timer can answer first (per-check timeouts and the deadline are a minute).
      const gate = latch()
      // Should the test time out, let the requests finish before the clients close.
      signal.addEventListener('abort', gate.release)
      const checks = [
        gated('database', gate.promise),
        gated('cache', gate.promise),
        gated('queue', gate.promise, { critical: false }),
      ]
      const health = createHealth({
        service: 'scanner-api',
        version: '1.2.3',
        cacheTtlMs: 0,
        timeoutMs: 60_000,
        deadlineMs: 60_000,
        system: false,
        checks: checks.map((c) => c.check),
      })
      const arrivals = countingArrivals(health)
      // A client carries 50 requests at once (see Client): 20 clients over the one instance.
      const clients: Client[] = []
      for (let i = 0; i < 20; i++) {
        const client = await makeClient(arrivals.health)
        opened.push({ health, client })
        clients.push(client)
      }
      const paths = ['/health/detailed/', '/health/', '/health/ready/'] as const
      const sent = Array.from({ length: 1000 }, (_, i) => {
        const path = paths[i % paths.length]!
        return clients[i % clients.length]!.request(path).then((res) => ({ path, res }))
      })
      let releasedAt = Number.NaN
      try {
        await arrivals.reached(1000)
        expect(checks.map((c) => c.calls())).toEqual([1, 1, 1])
      } finally {
        releasedAt = Date.now()
        gate.release()
      }
      const answers = await Promise.all(sent)
      const answeredAt = Date.now()
      expect(arrivals.arrived()).toBe(1000)
      expect(checks.map((c) => c.calls())).toEqual([1, 1, 1])
      expect(answers.filter(({ res }) => res.status !== 200)).toEqual([])
      // One set of results for all: one body per path, and one timestamp (when the shared
      // results were gathered, after the gate opened).
      const bodies = new Map<string, Set<string>>(paths.map((path) => [path, new Set()]))
      const stamps: string[] = []
      for (const { path, res } of answers) {
        const { timestamp, ...rest } = json(res)
        if (timestamp !== undefined) stamps.push(timestamp as string)
        bodies.get(path)!.add(JSON.stringify(rest))
      }
      const only = (path: string): unknown =>
        [...bodies.get(path)!].map((b): unknown => JSON.parse(b))
      expect(only('/health/detailed/')).toEqual([
        {
          status: 'healthy',
          components: {
            database: { status: 'healthy', latency_ms: 1.5, run: 1 },
            cache: { status: 'healthy', latency_ms: 1.5, run: 1 },
            queue: { status: 'healthy', latency_ms: 1.5, run: 1 },
          },
        },
      ])
      expect(only('/health/')).toEqual([
        { status: 'healthy', service: 'scanner-api', version: '1.2.3' },
      ])
      expect(only('/health/ready/')).toEqual([{ status: 'ready' }])
      expect(stamps).toHaveLength(667)
      const [stamp, ...others] = new Set(stamps)
      expect(others).toEqual([])
      expect(stamp).toMatch(ISO)
      expect(Date.parse(stamp!)).toBeGreaterThanOrEqual(releasedAt)
      expect(Date.parse(stamp!)).toBeLessThanOrEqual(answeredAt)
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
