/**
 * Express adapter of `@scanner/circuit-breaker`.
 *
 * @module @scanner/circuit-breaker/express
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express'
import type { HttpBreakerOptions } from '../http-options.js'
import {
  createHttpGuard,
  endOnClose,
  type RequestInfo,
  type SendableResponse,
} from '../internal/http.js'
import { expressPattern } from '../internal/express-pattern.js'
import type { BreakerRegistry } from '../registry.js'

/** Options of {@link createExpressBreaker}. */
export type ExpressBreakerOptions = HttpBreakerOptions

/** What {@link createExpressBreaker} returns. */
export interface ExpressBreaker {
  /**
   * Mount it globally (`app.use`) for request IDs, and on each route to protect
   * (`app.get(path, middleware, handler)`): Express knows the route pattern only there.
   */
  readonly middleware: RequestHandler
  /**
   * 404 problem+json for requests no route answered: mount it after every route and before
   * `errorHandler` (`app.use(notFound)`). Without it, Express answers its own HTML 404.
   */
  readonly notFound: RequestHandler
  /** Error handler: mount it after every route (`app.use(errorHandler)`). */
  readonly errorHandler: ErrorRequestHandler
}

// The pattern includes the mount patterns of routers and sub-apps, never the raw `req.baseUrl`.
const info = (req: Request): RequestInfo => ({
  method: req.method,
  pattern: expressPattern(req),
  url: req.originalUrl,
})

function send(res: Response, response: SendableResponse): void {
  res.writeHead(response.status, response.headers).end(response.body)
}

/**
 * Creates the Express middleware (request IDs + per-route breaker) and error handler
 * (error IDs + problem+json).
 *
 * @example
 * ```ts
 * const { middleware, notFound, errorHandler } = createExpressBreaker(registry, { logger })
 * app.use(middleware)
 * app.get('/api/quotes/:symbol', middleware, quoteHandler)
 * app.use(notFound)
 * app.use(errorHandler)
 * ```
 */
export function createExpressBreaker(
  registry: BreakerRegistry,
  options: ExpressBreakerOptions = {},
): ExpressBreaker {
  const guard = createHttpGuard(registry, options)
  const middleware: RequestHandler = function circuitBreaker(req, res, next) {
    let state = guard.peek(req)
    if (state === undefined) {
      state = guard.state(req, req.headers[guard.header], (req as { id?: unknown }).id)
      res.setHeader(guard.header, state.requestId)
    }
    if (req.route === undefined || state.key !== undefined) {
      next()
      return
    }
    const rejection = guard.admit(state, info(req), req, res)
    if (rejection !== undefined) {
      send(res, rejection)
      return
    }
    endOnClose(res, state)
    next()
  }
  const errorHandler: ErrorRequestHandler = function circuitBreakerErrors(err, req, res, next) {
    const state = guard.state(req, req.headers[guard.header], (req as { id?: unknown }).id)
    const response = guard.error(err, state, info(req))
    if (res.headersSent) {
      next(err)
      return
    }
    send(res, response)
  }
  const notFound: RequestHandler = function circuitBreakerNotFound(req, res) {
    const state = guard.state(req, req.headers[guard.header], (req as { id?: unknown }).id)
    send(res, guard.notFound(state, info(req)))
  }
  return { middleware, notFound, errorHandler }
}
