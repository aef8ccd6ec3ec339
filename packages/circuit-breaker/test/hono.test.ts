import { createHonoBreaker } from '@scanner/circuit-breaker/hono'
import { Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { describeAdapter, type MakeClient } from './contract.js'

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
  return Promise.resolve({
    async request(path, headers = {}) {
      const res = await app.request(path, { headers })
      const text = await res.text()
      return { status: res.status, header: (name) => res.headers.get(name), text }
    },
    close: () => Promise.resolve(),
  })
}

describeAdapter('hono', makeClient)
