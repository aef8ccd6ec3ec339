/**
 * Express adapter of `@scanner/health`: a Router serving the four endpoints under the health
 * instance's prefix.
 *
 * @module @scanner/health/express
 */
import express from 'express'
import type { NextFunction, Request, Response, Router } from 'express'
import type { Health, HealthResponse } from '../health.js'

/** Options of {@link createExpressHealthHandler}. */
export interface ExpressHealthOptions {
  /**
   * Reads the caller's address (for the loopback rule of `details`).
   * @default (req) => req.socket.remoteAddress
   */
  readonly getRemoteAddress?: (req: Request) => string | undefined
}

/**
 * Creates an Express Router serving `/health/`, `/health/detailed/`, `/health/ready/` and
 * `/health/live/` (GET and HEAD, trailing slash optional) under the health instance's prefix.
 *
 * @example
 * ```ts
 * import { createHealth } from '@scanner/health'
 * import { createExpressHealthHandler } from '@scanner/health/express'
 *
 * const app = express()
 * app.use(createExpressHealthHandler(createHealth({ service: 'api' })))
 * ```
 */
export function createExpressHealthHandler(
  health: Health,
  options: ExpressHealthOptions = {},
): Router {
  const getRemoteAddress = options.getRemoteAddress ?? ((req: Request) => req.socket.remoteAddress)
  // One layer that looks the path up, rather than a route per endpoint: Express would try
  // every route's regular expression in turn on each request.
  const paths = new Map<string, string>()
  for (const route of health.routes) {
    paths.set(route.path, route.path)
    if (route.path !== '/') paths.set(`${route.path}/`, route.path)
  }
  const send = (res: Response, result: HealthResponse): void => {
    res.writeHead(result.status, result.headers).end(result.body)
  }
  const router = express.Router()
  router.use(function healthEndpoint(req: Request, res: Response, next: NextFunction) {
    const path = req.method === 'GET' || req.method === 'HEAD' ? paths.get(req.path) : undefined
    if (path === undefined) {
      next()
      return
    }
    const result = health.respond({
      method: req.method,
      path,
      headers: req.headers,
      remoteAddress: getRemoteAddress(req),
    })
    if (result instanceof Promise) {
      result.then((response) => {
        send(res, response)
      }, next)
    } else {
      send(res, result)
    }
  })
  return router
}
