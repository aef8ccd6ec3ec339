import { createBreakerRegistry } from '@scanner/circuit-breaker'
import { createExpressBreaker } from '@scanner/circuit-breaker/express'
import express from 'express'
import { describe, expect, it, vi } from 'vitest'
import { describeAdapter, socketClient, type MakeClient } from './contract.js'
import { describeRouteKeys, type MakeMountedClient } from './route-keys.js'
import { describeClientFaults, type MakeEchoServer } from './client-faults.js'

const makeClient: MakeClient = (registry, options, routes) => {
  const app = express()
  const { middleware, notFound, errorHandler } = createExpressBreaker(registry, options)
  app.use(middleware)
  for (const route of routes) {
    app.get(route.path, middleware, async (req, res) => {
      const { status, body } = await route.handler(req.params as Record<string, string>)
      res.status(status).json(body)
    })
  }
  app.use(notFound)
  app.use(errorHandler)
  return socketClient(app.listen(0, '127.0.0.1'))
}

describeAdapter('express', makeClient)

const makeMountedClient: MakeMountedClient = (registry) => {
  const app = express()
  const { middleware, errorHandler } = createExpressBreaker(registry)
  app.use(middleware)
  const tenant = express.Router()
  const shop = express.Router()
  shop.get('/orders/:id', middleware, (_req, res) => {
    res.json({ ok: true })
  })
  tenant.use('/shops/:shop', shop)
  tenant.get('/down', middleware, (_req, res) => {
    res.status(502).json({ ok: false })
  })
  app.use('/t/:tenant', tenant)
  app.use(errorHandler)
  return socketClient(app.listen(0, '127.0.0.1'))
}

describeRouteKeys('express', makeMountedClient)

// The body parser after the breaker's middleware: the clock must still wait for the body.
const makeEchoServer: MakeEchoServer = async (registry, options) => {
  const app = express()
  const { middleware, errorHandler } = createExpressBreaker(registry, options)
  app.use(middleware)
  app.post('/api/echo', middleware, express.json(), (req, res) => {
    res.json(req.body)
  })
  app.use(errorHandler)
  const client = await socketClient(app.listen(0, '127.0.0.1'))
  return { port: client.port, close: () => client.close() }
}

describeClientFaults('express', makeEchoServer)

describe('express route keys, sub-apps and case', () => {
  it('uses mount patterns of sub-apps and ignores the case of literal segments', async () => {
    const registry = createBreakerRegistry()
    const app = express()
    const { middleware, errorHandler } = createExpressBreaker(registry)
    app.use(middleware)
    const v = express()
    const items = express.Router()
    items.get('/:id', middleware, (_req, res) => {
      res.json({ ok: true })
    })
    v.use('/Items', items)
    app.use('/v/:version', v)
    app.use(errorHandler)
    const client = await socketClient(app.listen(0, '127.0.0.1'))
    for (const path of ['/v/1/items/a', '/V/2/ITEMS/b', '/v/x%2Fy/iTeMs/c', '/v/items/items/d']) {
      expect((await client.request(path)).status, path).toBe(200)
    }
    expect(registry.keys()).toEqual(['GET /v/:version/Items/:id'])
    await client.close()
    await registry.close()
  })
})

describe('express adapter, client gone', () => {
  it('counts a request whose client went away as 499 (ignored) once the response closes', async () => {
    const registry = createBreakerRegistry({ volumeThreshold: 1 })
    const app = express()
    const { middleware, errorHandler } = createExpressBreaker(registry)
    let reached: () => void = () => undefined
    const inHandler = new Promise<void>((resolve) => {
      reached = resolve
    })
    app.get('/api/slow', middleware, (_req, res) => {
      reached()
      setTimeout(() => res.json({ late: true }), 200)
    })
    app.use(errorHandler)
    const client = await socketClient(app.listen(0, '127.0.0.1'))
    const controller = new AbortController()
    const pending = client.request('/api/slow', {}, controller.signal).catch((e: unknown) => e)
    await inHandler
    controller.abort()
    expect(await pending).toBeInstanceOf(Error)
    await vi.waitFor(() => {
      expect(registry.peek('GET /api/slow')?.stats()).toMatchObject({
        ignored: 1,
        successes: 0,
        failures: 0,
      })
    })
    expect(registry.peek('GET /api/slow')?.state).toBe('closed')
    await client.close()
    await registry.close()
  })
})
