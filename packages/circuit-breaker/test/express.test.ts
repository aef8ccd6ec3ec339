import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createExpressBreaker } from '@scanner/circuit-breaker/express'
import express from 'express'
import { describeAdapter, type MakeClient } from './contract.js'

const makeClient: MakeClient = async (registry, options, routes) => {
  const app = express()
  const { middleware, errorHandler } = createExpressBreaker(registry, options)
  app.use(middleware)
  for (const route of routes) {
    app.get(route.path, middleware, async (req, res) => {
      const { status, body } = await route.handler(req.params as Record<string, string>)
      res.status(status).json(body)
    })
  }
  app.use(errorHandler)
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    async request(path, headers = {}) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers })
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

describeAdapter('express', makeClient)
