// Contract suite run against every adapter (express, fastify, hono): the same routes, the
// same requests, the same expectations.
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isErrorId } from '@scanner/core'
import type { Logger } from '@scanner/core'
import {
  breakerCheck,
  createBreakerRegistry,
  type BreakerEvent,
  type BreakerRegistry,
  type BreakerRegistryOptions,
  type HttpBreakerOptions,
} from '@scanner/circuit-breaker'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

/** A framework-agnostic route handler: returns a status and JSON body, or throws. */
export type Handler = (params: Record<string, string>) => Promise<{ status: number; body: unknown }>

export interface RouteDef {
  readonly path: string
  readonly handler: Handler
}

export interface TestResponse {
  readonly status: number
  header(name: string): string | null
  readonly text: string
}

export interface Client {
  request(
    path: string,
    headers?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<TestResponse>
  close(): Promise<void>
}

/** A {@link Client} on a real socket, with its port. */
export interface SocketClient extends Client {
  readonly port: number
}

/** Builds an app with the adapter under test and the given GET routes. */
export type MakeClient = (
  registry: BreakerRegistry,
  options: HttpBreakerOptions,
  routes: readonly RouteDef[],
) => Promise<Client>

/** A client for an app served on a real socket on 127.0.0.1 (port 0), closed with it. */
export async function socketClient(server: Server): Promise<SocketClient> {
  if (!server.listening) await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    port,
    async request(path, headers = {}, signal) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers, signal })
      const text = await res.text()
      return { status: res.status, header: (name) => res.headers.get(name), text }
    },
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

interface LogRecord {
  readonly level: string
  readonly obj: Record<string, unknown>
  readonly msg: string | undefined
}

export function captureLogger(): { logger: Logger; records: LogRecord[]; errorIds: string[] } {
  const records: LogRecord[] = []
  const errorIds: string[] = []
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      if (typeof obj === 'string') return
      const record = obj as Record<string, unknown>
      if (level === 'error' && typeof record.errorId === 'string') errorIds.push(record.errorId)
      if (errorIds.length < 1000) records.push({ level, obj: record, msg })
    }
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  }
  return { logger, records, errorIds }
}

const SECRET = 'db password=hunter2 exploded'
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms)
  })
/** Lets real I/O (sockets, setImmediate) make progress while the clock is fake. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
  expect(condition()).toBe(true)
}

export interface ContractOptions {
  /** Shape of the request ID used when the incoming one is missing or invalid. */
  readonly generatedRequestId?: RegExp
  /**
   * Errors to prove unique IDs over, through the adapter (the wiring: body, header and log line
   * carry the same fresh ID). Uniqueness itself is proven over 100,000 errors at the function
   * level (`src/internal/http.test.ts`), where it costs a second rather than minutes of sockets.
   * @default 2000
   */
  readonly uniqueErrors?: number
}

export function describeAdapter(
  name: string,
  makeClient: MakeClient,
  contract: ContractOptions = {},
): void {
  const generatedId = contract.generatedRequestId ?? /^[0-9a-f-]{36}$/
  describe(`${name} adapter contract`, () => {
    let registry: BreakerRegistry
    let client: Client | undefined
    const calls = { failing: 0, slow: 0, healthy: 0 }
    let failingMode: 'throw' | 'ok' = 'throw'

    const routes: RouteDef[] = [
      {
        path: '/api/healthy',
        handler: () => {
          calls.healthy++
          return Promise.resolve({ status: 200, body: { ok: true } })
        },
      },
      {
        path: '/api/failing',
        handler: () => {
          calls.failing++
          if (failingMode === 'ok') return Promise.resolve({ status: 200, body: { ok: true } })
          return Promise.reject(new Error(SECRET))
        },
      },
      {
        path: '/api/status/:code',
        handler: (params) => Promise.resolve({ status: Number(params.code), body: { ok: false } }),
      },
      {
        path: '/api/slow',
        handler: async () => {
          calls.slow++
          await sleep(5_000)
          return { status: 200, body: { ok: true } }
        },
      },
      {
        path: '/api/client-error',
        handler: () =>
          Promise.reject(
            Object.assign(new Error('symbol is invalid'), { status: 422, expose: true }),
          ),
      },
      {
        path: '/api/hidden-client-error',
        handler: () => Promise.reject(Object.assign(new Error(SECRET), { status: 400 })),
      },
      {
        path: '/api/unavailable',
        handler: () =>
          Promise.reject(Object.assign(new Error(SECRET), { status: 503, retryAfter: 7 })),
      },
    ]

    async function start(
      options: HttpBreakerOptions = {},
      registryOptions: BreakerRegistryOptions = {},
    ): Promise<Client> {
      registry = createBreakerRegistry({
        volumeThreshold: 4,
        errorThresholdPercentage: 50,
        resetTimeoutMs: 30_000,
        timeoutMs: 1_000,
        ...registryOptions,
      })
      client = await makeClient(registry, options, routes)
      return client
    }

    beforeEach(() => {
      calls.failing = calls.slow = calls.healthy = 0
      failingMode = 'throw'
      vi.useFakeTimers({
        toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      })
      vi.setSystemTime(new Date('2030-01-01T00:00:00Z'))
    })

    afterEach(async () => {
      vi.useRealTimers()
      await client?.close()
      client = undefined
      await registry.close()
    })

    async function openFailingRoute(c: Client): Promise<void> {
      for (let i = 0; i < 4; i++) expect((await c.request('/api/failing')).status).toBe(500)
      expect(registry.get('GET /api/failing').state).toBe('open')
    }

    it('opens a failing route after the threshold and fails fast with 503 problem+json', async () => {
      const c = await start()
      const events: BreakerEvent[] = []
      registry.on('open', (e) => events.push(e))
      await openFailingRoute(c)
      expect(events.map((e) => e.key)).toEqual(['GET /api/failing'])

      const res = await c.request('/api/failing?symbol=ACME')
      expect(calls.failing).toBe(4) // the handler did not run
      expect(res.status).toBe(503)
      expect(res.header('content-type')).toMatch(/^application\/problem\+json/)
      expect(res.header('retry-after')).toBe('30')
      const body = JSON.parse(res.text)
      expect(body).toMatchObject({
        type: 'urn:scanner:problem:circuit-open',
        title: 'Service Unavailable',
        status: 503,
        instance: '/api/failing',
        retryAfter: 30,
        code: 'ERR_BREAKER_OPEN',
      })
      expect(typeof body.detail).toBe('string')
      expect(isErrorId(body.errorId)).toBe(true)
      expect(res.header('x-error-id')).toBe(body.errorId)
      expect(res.header('x-request-id')).toBe(body.requestId)

      // Retry-After counts down to the half-open moment, in whole seconds rounded up.
      vi.advanceTimersByTime(10_500)
      const later = await c.request('/api/failing')
      expect(later.header('retry-after')).toBe('20')
      expect(JSON.parse(later.text).retryAfter).toBe(20)

      // Other routes keep working.
      const healthy = await c.request('/api/healthy')
      expect(healthy.status).toBe(200)
      expect(JSON.parse(healthy.text)).toEqual({ ok: true })

      const stats = registry.stats().find((s) => s.key === 'GET /api/failing')
      expect(stats).toMatchObject({ state: 'open', failures: 4, rejections: 2, requests: 6 })
      expect(stats?.nextAttemptAt).toBe(Date.parse('2030-01-01T00:00:30Z'))
      const check = await breakerCheck(registry).run(new AbortController().signal)
      expect(check).toMatchObject({ status: 'degraded', open: ['GET /api/failing'] })
    })

    it('closes after a successful half-open trial', async () => {
      const c = await start()
      const seen: string[] = []
      registry.on('half-open', (e) => seen.push(e.state))
      registry.on('close', (e) => seen.push(e.state))
      await openFailingRoute(c)
      await vi.advanceTimersByTimeAsync(30_000)
      expect(registry.get('GET /api/failing').state).toBe('half-open')
      failingMode = 'ok'
      expect((await c.request('/api/failing')).status).toBe(200)
      expect(registry.get('GET /api/failing').state).toBe('closed')
      expect(seen).toEqual(['half-open', 'closed'])
      expect((await c.request('/api/failing')).status).toBe(200)
    })

    it('reopens with a fresh timeout after a failed half-open trial', async () => {
      const c = await start()
      await openFailingRoute(c)
      await vi.advanceTimersByTimeAsync(30_000)
      expect((await c.request('/api/failing')).status).toBe(500)
      const route = registry.get('GET /api/failing')
      expect(route.state).toBe('open')
      const res = await c.request('/api/failing')
      expect(res.status).toBe(503)
      expect(res.header('retry-after')).toBe('30')
      await vi.advanceTimersByTimeAsync(29_000)
      expect((await c.request('/api/failing')).header('retry-after')).toBe('1')
      await vi.advanceTimersByTimeAsync(1_000)
      expect(route.state).toBe('half-open')
      expect(calls.failing).toBe(5)
    })

    it('ignores 4xx: neither successes nor failures', async () => {
      const c = await start()
      for (let i = 0; i < 20; i++) expect((await c.request('/api/status/404')).status).toBe(404)
      for (let i = 0; i < 5; i++) expect((await c.request('/api/client-error')).status).toBe(422)
      expect(registry.get('GET /api/status/:code').state).toBe('closed')
      expect(registry.get('GET /api/client-error').state).toBe('closed')
      expect(registry.get('GET /api/status/:code').stats()).toMatchObject({
        successes: 0,
        failures: 0,
        ignored: 20,
      })
      expect(registry.get('GET /api/client-error').stats()).toMatchObject({ ignored: 5 })
    })

    it('opens on 502s with 404s between them (4xx do not dilute failures)', async () => {
      const c = await start()
      for (let i = 0; i < 4; i++) {
        if (i > 0) {
          expect((await c.request('/api/status/404')).status).toBe(404)
          expect((await c.request('/api/status/404')).status).toBe(404)
        }
        expect((await c.request('/api/status/502')).status).toBe(502)
      }
      expect(registry.get('GET /api/status/:code').state).toBe('open')
      expect((await c.request('/api/status/200')).status).toBe(503)
    })

    it('logs a 4xx as one short info line without stack, a 5xx at error with its stack', async () => {
      const { logger, records } = captureLogger()
      const c = await start({ logger })
      expect((await c.request('/api/client-error')).status).toBe(422)
      expect((await c.request('/api/hidden-client-error')).status).toBe(400)
      const client = records.filter((r) => r.msg === 'client error')
      expect(client.map((r) => r.level)).toEqual(['info', 'info'])
      for (const r of client) {
        expect(r.obj.err).toBeUndefined()
        expect(JSON.stringify(r.obj)).not.toMatch(/\bat .*\.(ts|js)/)
        expect(JSON.stringify(r.obj).length).toBeLessThan(600)
      }
      expect(client[0]?.obj).toMatchObject({ status: 422, reason: 'symbol is invalid' })
      expect(records.filter((r) => r.level === 'error')).toEqual([])
    })

    it('counts 5xx statuses as failures even when nothing was thrown', async () => {
      const c = await start()
      for (let i = 0; i < 4; i++) expect((await c.request('/api/status/502')).status).toBe(502)
      expect((await c.request('/api/status/502')).status).toBe(503)
    })

    it('counts a call slower than timeoutMs as a failure', async () => {
      const c = await start()
      const pending = Array.from({ length: 4 }, () => c.request('/api/slow'))
      await until(() => calls.slow === 4)
      await vi.advanceTimersByTimeAsync(1_000)
      const route = registry.get('GET /api/slow')
      expect(route.stats()).toMatchObject({ timeouts: 4, failures: 4, state: 'open' })
      await vi.advanceTimersByTimeAsync(4_000)
      for (const res of await Promise.all(pending)) expect(res.status).toBe(200)
      const rejected = await c.request('/api/slow')
      expect(rejected.status).toBe(503)
      expect(calls.slow).toBe(4)
    })

    it('answers 2,000 random unmatched paths with 404 problem+json and one key at most', async () => {
      vi.useRealTimers()
      const c = await start({}, { maxBreakers: 50 })
      const batch = 100
      // 2,000 paths against 50 keys: a key per path would have overflowed it 40 times.
      for (let i = 0; i < 2_000; i += batch) {
        const responses = await Promise.all(
          Array.from({ length: batch }, (_, j) =>
            c.request(`/scan/${(i + j).toString(36)}/${Math.random().toString(36).slice(2)}`),
          ),
        )
        for (const res of responses) {
          expect(res.status).toBe(404)
          expect(res.header('content-type')).toMatch(/^application\/problem\+json/)
          expect(res.header('cache-control')).toBe('no-store')
          const body = JSON.parse(res.text) as Record<string, unknown>
          expect(body).toMatchObject({ status: 404, code: 'ERR_ROUTE_NOT_FOUND' })
          expect(res.header('x-error-id')).toBe(body.errorId)
          expect(res.header('x-request-id')).toBe(body.requestId)
        }
      }
      expect(registry.size).toBeLessThanOrEqual(1)
      for (const key of registry.keys()) expect(key).toBe('GET <unmatched>')
      expect(registry.maxBreakers).toBe(50)
    }, 180_000)

    it('puts one error ID in the body, the X-Error-Id header and the log line', async () => {
      const { logger, records } = captureLogger()
      const c = await start({ logger })
      const res = await c.request('/api/failing', { 'x-request-id': 'req-42.abc' })
      expect(res.status).toBe(500)
      const body = JSON.parse(res.text)
      expect(isErrorId(body.errorId)).toBe(true)
      expect(res.header('x-error-id')).toBe(body.errorId)
      expect(res.header('x-request-id')).toBe('req-42.abc')
      expect(body.requestId).toBe('req-42.abc')
      const errors = records.filter((r) => r.level === 'error')
      expect(errors).toHaveLength(1)
      expect(errors[0]?.obj).toMatchObject({
        errorId: body.errorId,
        method: 'GET',
        route: 'GET /api/failing',
        status: 500,
        requestId: 'req-42.abc',
        path: '/api/failing',
      })
      expect(errors[0]?.obj.err).toBeInstanceOf(Error)
      expect((errors[0]?.obj.err as Error).stack).toContain(SECRET)
    })

    const uniqueErrors = contract.uniqueErrors ?? 2_000
    it(`gives unique error IDs over ${uniqueErrors.toLocaleString('en')} errors`, async () => {
      vi.useRealTimers()
      const { logger, errorIds } = captureLogger()
      const c = await start({ logger }, { errorThresholdPercentage: 100 })
      const total = uniqueErrors
      const seen = new Set<string>()
      const batch = 50
      for (let i = 0; i < total; i += batch) {
        const responses = await Promise.all(
          Array.from({ length: Math.min(batch, total - i) }, () => c.request('/api/failing')),
        )
        for (const res of responses) {
          if (res.status !== 500) throw new Error(`unexpected ${res.status}`)
          const id = res.header('x-error-id')
          if (id === null || !isErrorId(id) || seen.has(id)) throw new Error(`bad ID ${id}`)
          seen.add(id)
        }
      }
      expect(seen.size).toBe(total)
      expect(errorIds.length).toBe(total)
      expect(new Set(errorIds).size).toBe(total)
      expect(errorIds.every((id) => seen.has(id))).toBe(true)
      // Generous for a loaded machine: 2,000 requests take about a second when it is quiet.
    }, 180_000)

    it('never leaks stacks or internal messages in production mode', async () => {
      const c = await start()
      for (const path of ['/api/failing', '/api/hidden-client-error', '/api/unavailable']) {
        const res = await c.request(path)
        expect(res.text).not.toContain('hunter2')
        expect(res.text).not.toMatch(/\bat .*\.(ts|js)/)
        const body = JSON.parse(res.text)
        expect(body.stack).toBeUndefined()
        expect(body.code).toBeUndefined()
      }
      const failing = JSON.parse((await c.request('/api/failing')).text)
      expect(failing).toMatchObject({ status: 500, title: 'Internal Server Error' })
      const hidden = await c.request('/api/hidden-client-error')
      expect(hidden.status).toBe(400)
      const unavailable = await c.request('/api/unavailable')
      expect(unavailable.status).toBe(503)
      expect(unavailable.header('retry-after')).toBe('7')
      expect(JSON.parse(unavailable.text).retryAfter).toBe(7)
      const clientError = await c.request('/api/client-error')
      expect(clientError.status).toBe(422)
      expect(JSON.parse(clientError.text).detail).toBe('symbol is invalid')
    })

    it('shows messages and stacks with exposeErrors (development)', async () => {
      const c = await start({ exposeErrors: true })
      const body = JSON.parse((await c.request('/api/failing')).text)
      expect(body.detail).toBe(SECRET)
      expect(body.stack).toContain(SECRET)
    })

    it('replaces invalid incoming request IDs and keeps valid ones', async () => {
      const c = await start()
      const valid = await c.request('/api/healthy', { 'x-request-id': 'abc-123_x.y:z' })
      expect(valid.header('x-request-id')).toBe('abc-123_x.y:z')
      for (const bad of ['a'.repeat(500), 'evil\tid', 'x y', 'é']) {
        const res = await c.request('/api/failing', { 'x-request-id': bad })
        const id = res.header('x-request-id')
        expect(id).not.toBe(bad)
        expect(id).toMatch(generatedId)
        expect(JSON.parse(res.text).requestId).toBe(id)
      }
      const generated = await c.request('/api/healthy')
      expect(generated.header('x-request-id')).toMatch(generatedId)
    })

    it('supports manual control per route and for all routes', async () => {
      const c = await start()
      await c.request('/api/healthy')
      registry.forceOpen('GET /api/healthy')
      const res = await c.request('/api/healthy')
      expect(res.status).toBe(503)
      expect(res.header('retry-after')).toBe('30')
      expect(calls.healthy).toBe(1)
      registry.forceClose()
      expect((await c.request('/api/healthy')).status).toBe(200)
      await openFailingRoute(c)
      registry.reset('GET /api/failing')
      expect(registry.get('GET /api/failing').stats()).toMatchObject({
        state: 'closed',
        failures: 0,
      })
    })
  })
}
