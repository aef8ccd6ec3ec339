/**
 * Express adapter of `@scanner/health`: a Router serving the four endpoints under the health
 * instance's prefix.
 *
 * @module @scanner/health/express
 */
import express from 'express'
import type { NextFunction, Request, Response, Router } from 'express'
import type { Health } from '../health.js'

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
  const router = express.Router()
  for (const route of health.routes) {
    router.get(
      route.path,
      function healthEndpoint(req: Request, res: Response, next: NextFunction) {
        health
          .handle({
            method: req.method,
            path: route.path,
            headers: req.headers,
            remoteAddress: getRemoteAddress(req),
          })
          .then((result) => {
            res.writeHead(result.status, result.headers).end(result.body)
          }, next)
      },
    )
  }
  return router
}
