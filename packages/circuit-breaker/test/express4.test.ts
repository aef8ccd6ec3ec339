// The Express contract again, on Express 4 (the `express4` alias of express@^4.21): the peer
// range covers both majors, so both run the same suite.
import { createExpressBreaker } from '@scanner/circuit-breaker/express'
import express, { type ErrorRequestHandler, type RequestHandler } from 'express4'
import { describeAdapter, socketClient, type MakeClient } from './contract.js'

// In this workspace the adapter's declarations name @types/express 5; an Express 4 project
// resolves them to its own @types/express 4 (scripts/pack-test compiles one). Hence the casts.
const makeClient: MakeClient = (registry, options, routes) => {
  const app = express()
  const breaker = createExpressBreaker(registry, options)
  const middleware = breaker.middleware as unknown as RequestHandler
  const errorHandler = breaker.errorHandler as unknown as ErrorRequestHandler
  app.use(middleware)
  for (const route of routes) {
    // Express 4 does not catch a rejected promise: a route hands its error to next().
    app.get(route.path, middleware, (req, res, next) => {
      route.handler(req.params as Record<string, string>).then(({ status, body }) => {
        res.status(status).json(body)
      }, next)
    })
  }
  app.use(errorHandler)
  return socketClient(app.listen(0, '127.0.0.1'))
}

// express.test.ts proves unique IDs over 100,000 errors with the same adapter code.
describeAdapter('express 4', makeClient, { uniqueErrors: 10_000 })
