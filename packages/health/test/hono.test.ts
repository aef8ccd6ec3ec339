import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { describe, expect, it } from 'vitest'
import { createHealth, databaseCheck } from '@scanner/health'
import { createHonoHealthApp } from '@scanner/health/hono'
import { describeAdapter, type Client } from './contract.js'

// What @hono/node-server passes as `c.env` for a request from a loopback socket.
const loopbackEnv = { incoming: { socket: { remoteAddress: '127.0.0.1' } } }

describeAdapter('hono', (health): Promise<Client> => {
  const app = new Hono()
  app.route('/', createHonoHealthApp(health))
  return Promise.resolve({
    async request(path, init = {}) {
      const res = await app.request(
        path,
        { method: init.method ?? 'GET', headers: init.headers },
        loopbackEnv,
      )
      const headers: Record<string, string> = {}
      res.headers.forEach((value, key) => {
        headers[key] = value
      })
      return { status: res.status, headers, body: await res.text() }
    },
    close: () => Promise.resolve(),
  })
})

describe('hono adapter specifics', () => {
  it('hides details when the caller address is unknown, unless getRemoteAddress says loopback', async () => {
    const health = createHealth({ checks: [databaseCheck({ ping: () => undefined })] })
    const anonymous = new Hono().route('/', createHonoHealthApp(health))
    const body = (await (await anonymous.request('/health/detailed/')).json()) as object
    expect(Object.keys(body).sort()).toEqual(['status', 'timestamp'])
    const local = new Hono().route(
      '/',
      createHonoHealthApp(health, { getRemoteAddress: () => '::1' }),
    )
    const shown = (await (await local.request('/health/detailed/')).json()) as object
    expect(shown).toHaveProperty('components.database.status', 'healthy')
    await health.close()
  })

  it("reads Node's header object under @hono/node-server", async () => {
    const health = createHealth({ checks: [databaseCheck({ ping: () => undefined })] })
    const app = new Hono().route('/', createHonoHealthApp(health))
    const env = (headers: Record<string, string>) => ({
      incoming: { headers, socket: { remoteAddress: '127.0.0.1' } },
    })
    const local = await app.request('/health/detailed/', {}, env({ host: 'x' }))
    expect(await local.json()).toHaveProperty('components')
    const proxied = await app.request(
      '/health/detailed/',
      {},
      env({ 'x-forwarded-for': '203.0.113.9' }),
    )
    expect(Object.keys((await proxied.json()) as object).sort()).toEqual(['status', 'timestamp'])
    const healthJson = await app.request(
      '/health/live/',
      {},
      env({ accept: 'application/health+json' }),
    )
    expect(await healthJson.json()).toEqual({ status: 'pass' })
    await health.close()
  })

  it('keeps the headers middleware set before it (X-Request-Id of hono/request-id)', async () => {
    const health = createHealth({ checks: [databaseCheck({ ping: () => undefined })] })
    const app = new Hono()
    app.use(requestId())
    app.route('/', createHonoHealthApp(health))
    for (const path of ['/health/', '/health/detailed/', '/health/ready/', '/health/live/']) {
      for (const method of ['GET', 'HEAD']) {
        const res = await app.request(path, { method, headers: { 'x-request-id': 'probe-42' } })
        expect(res.status).toBe(200)
        expect(res.headers.get('x-request-id')).toBe('probe-42')
        expect(res.headers.get('content-length')).toMatch(/^\d+$/)
        expect(res.headers.get('cache-control')).toBe('no-store')
      }
      const fresh = await app.request(path)
      expect(fresh.headers.get('x-request-id')).toMatch(/^[\w-]{8,}$/)
    }
    await health.close()
  })

  it('leaves other routes to the app', async () => {
    const health = createHealth()
    const app = new Hono()
    app.route('/', createHonoHealthApp(health))
    app.get('/api', (c) => c.text('api'))
    expect(await (await app.request('/api')).text()).toBe('api')
    expect((await app.request('/health/nope')).status).toBe(404)
    await health.close()
  })
})
