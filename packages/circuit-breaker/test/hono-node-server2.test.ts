// The Hono contract on a real socket under @hono/node-server 2 (the `@hono/node-server-v2`
// alias); hono.test.ts runs it under 1.19. The peer range covers both majors.
import { createServer } from 'node:http'
import { createHonoBreaker } from '@scanner/circuit-breaker/hono'
import { getRequestListener } from '@hono/node-server-v2'
import { Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { describeAdapter, socketClient, type MakeClient } from './contract.js'

const makeClient: MakeClient = (registry, options, routes) => {
  const app = new Hono()
  const { middleware, onError } = createHonoBreaker(registry, options)
  app.use(middleware)
  app.onError(onError)
  for (const route of routes) {
    app.get(route.path, async (c) => {
      const { status, body } = await route.handler(c.req.param())
      return c.json(body, status as ContentfulStatusCode)
    })
  }
  const listener = getRequestListener(app.fetch)
  return socketClient(
    createServer((req, res) => {
      void listener(req, res)
    }).listen(0, '127.0.0.1'),
  )
}

// hono.test.ts proves unique IDs over 100,000 errors with the same adapter code.
describeAdapter('hono on @hono/node-server 2', makeClient, { uniqueErrors: 10_000 })
