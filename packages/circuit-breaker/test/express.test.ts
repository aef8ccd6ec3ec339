import { createExpressBreaker } from '@scanner/circuit-breaker/express'
import express from 'express'
import { describeAdapter, socketClient, type MakeClient } from './contract.js'

const makeClient: MakeClient = (registry, options, routes) => {
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
  return socketClient(app.listen(0, '127.0.0.1'))
}

describeAdapter('express', makeClient)
