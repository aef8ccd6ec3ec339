import { createServer } from 'node:http'
import { createHonoBreaker } from '@scanner/circuit-breaker/hono'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { describeAdapter, socketClient, type MakeClient, type RouteDef } from './contract.js'
import { describeRouteKeys, type MakeMountedClient } from './route-keys.js'
import { describeClientFaults, type MakeEchoServer } from './client-faults.js'
import type { BreakerRegistry } from '@scanner/circuit-breaker'
import type { HonoBreakerOptions } from '@scanner/circuit-breaker/hono'

function createApp(
  registry: BreakerRegistry,
  options: HonoBreakerOptions,
  routes: readonly RouteDef[],
): Hono {
  const app = new Hono()
  const { middleware, onError, notFound } = createHonoBreaker(registry, options)
  app.use(middleware)
  app.onError(onError)
  app.notFound(notFound)
  for (const route of routes) {
    app.get(route.path, async (c) => {
      const { status, body } = await route.handler(c.req.param())
      return c.json(body, status as ContentfulStatusCode)
    })
  }
  return app
}

// Fetch API only (app.request): what Bun, Deno and workers see.
const makeClient: MakeClient = (registry, options, routes) => {
  const app = createApp(registry, options, routes)
  return Promise.resolve({
    async request(path, headers = {}) {
      const res = await app.request(path, { headers })
      const text = await res.text()
      return { status: res.status, header: (name) => res.headers.get(name), text }
    },
    close: () => Promise.resolve(),
  })
}

// Under @hono/node-server on a real socket: the adapter reads and writes Node's own headers.
const makeNodeClient: MakeClient = (registry, options, routes) => {
  const app = createApp(registry, options, routes)
  const listener = getRequestListener(app.fetch)
  return socketClient(
    createServer((req, res) => {
      void listener(req, res)
    }).listen(0, '127.0.0.1'),
  )
}

describeAdapter('hono', makeClient)
describeAdapter('hono on @hono/node-server', makeNodeClient)

const makeMountedClient: MakeMountedClient = (registry) => {
  const app = new Hono()
  const { middleware, onError } = createHonoBreaker(registry)
  app.use(middleware)
  app.onError(onError)
  const shop = new Hono().get('/orders/:id', (c) => c.json({ ok: true }))
  const tenant = new Hono()
    .route('/shops/:shop', shop)
    .get('/down', (c) => c.json({ ok: false }, 502))
  app.route('/t/:tenant', tenant)
  return Promise.resolve({
    async request(path, headers = {}) {
      const res = await app.request(path, { headers })
      const text = await res.text()
      return { status: res.status, header: (name) => res.headers.get(name), text }
    },
    close: () => Promise.resolve(),
  })
}

describeRouteKeys('hono', makeMountedClient)

// The handler reads the body itself (`await c.req.json()`), under @hono/node-server.
const makeEchoServer: MakeEchoServer = async (registry, options) => {
  const app = new Hono()
  const { middleware, onError } = createHonoBreaker(registry, options)
  app.use(middleware)
  app.onError(onError)
  app.post('/api/echo', async (c) => c.json(await c.req.json()))
  const listener = getRequestListener(app.fetch)
  const client = await socketClient(
    createServer((req, res) => {
      void listener(req, res)
    }).listen(0, '127.0.0.1'),
  )
  return { port: client.port, close: () => client.close() }
}

describeClientFaults('hono on @hono/node-server', makeEchoServer)
