/**
 * Hono adapter of `@scanner/circuit-breaker`.
 *
 * @module @scanner/circuit-breaker/hono
 */
import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { matchedRoutes } from 'hono/route'
import type { HttpBreakerOptions } from '../http-options.js'
import {
  createHttpGuard,
  type BodyRequest,
  type DeadlineResponse,
  type RequestInfo,
  type SendableResponse,
} from '../internal/http.js'
import { bodyError, isBodyError, type BodyCache } from '../internal/request-body.js'
import type { BreakerRegistry } from '../registry.js'

/** Options of {@link createHonoBreaker}. */
export type HonoBreakerOptions = HttpBreakerOptions

/** What {@link createHonoBreaker} returns. */
export interface HonoBreaker {
  /** Middleware: `app.use(middleware)` before the routes. */
  readonly middleware: MiddlewareHandler
  /** Error handler: `app.onError(onError)`. */
  readonly onError: ErrorHandler
  /** 404 problem+json for unmatched routes: `app.notFound(notFound)` (Hono's own is text). */
  readonly notFound: NotFoundHandler
}

/** The pattern of the route handling the request: the last matched non-middleware route. */
function pattern(c: Context): string | undefined {
  const routes = matchedRoutes(c)
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]
    if (route !== undefined && (route.method !== 'ALL' || route.handler.length < 2)) {
      return route.path
    }
  }
  return undefined
}

const info = (c: Context): RequestInfo => ({
  method: c.req.method,
  pattern: pattern(c),
  url: c.req.path,
})

/** What `@hono/node-server` passes as `c.env`: Node's own request. */
interface NodeBindings {
  readonly incoming?: BodyRequest
  readonly outgoing?: DeadlineResponse
}

const incomingOf = (c: Context): BodyRequest | undefined =>
  (c.env as NodeBindings | undefined)?.incoming

const toResponse = (r: SendableResponse): Response =>
  new Response(r.body, { status: r.status, headers: r.headers })

/**
 * Creates the Hono middleware (request IDs + per-route breaker) and `onError` handler
 * (error IDs + problem+json). A request ID set by `hono/request-id` is reused.
 *
 * @example
 * ```ts
 * const { middleware, onError, notFound } = createHonoBreaker(registry, { logger })
 * app.use(middleware)
 * app.onError(onError)
 * app.notFound(notFound)
 * app.get('/api/quotes/:symbol', quoteHandler)
 * ```
 */
export function createHonoBreaker(
  registry: BreakerRegistry,
  options: HonoBreakerOptions = {},
): HonoBreaker {
  const guard = createHttpGuard(registry, options)
  // Under @hono/node-server the request ID is read from Node's own headers: c.req.header()
  // would first build the Fetch API Headers of the request, which costs more than the rest of
  // the middleware. Elsewhere (Bun, Deno, workers) the Fetch API is used.
  const stateOf = (c: Context, incoming = incomingOf(c)) => {
    const headers = incoming?.headers
    return guard.state(
      c,
      headers === undefined ? c.req.header(guard.header) : headers[guard.header],
      c.get('requestId' as never),
    )
  }
  // Not an async function: one promise fewer per request, on a path every request takes.
  const middleware: MiddlewareHandler = function circuitBreaker(c, next) {
    const incoming = incomingOf(c)
    const state = stateOf(c, incoming)
    // Under @hono/node-server the clock waits for Node's request body (read by the handler's
    // `c.req.json()`), and a body past `bodyTimeoutMs` gets a 408 on Node's response; elsewhere
    // the clock starts here, body reading included, and there is no body deadline.
    const rejection = guard.admit(
      state,
      info(c),
      incoming,
      incoming && (c.env as NodeBindings).outgoing,
    )
    if (rejection !== undefined) return Promise.resolve(toResponse(rejection))
    // c.header() on every runtime. Node's own setHeader() under @hono/node-server measured no
    // cheaper: headers set before writeHead() put Node on its slower merging path.
    c.header(guard.header, state.requestId)
    const call = state.call
    if (call === undefined) return next()
    return next().then(
      () => {
        call.end(c.res.status, c.error ?? state.error)
      },
      (error: unknown) => {
        call.end(500, error)
        throw error
      },
    )
  }
  const onError: ErrorHandler = function circuitBreakerErrors(error, c) {
    const clientSafe = error instanceof HTTPException && error.status < 500
    if (clientSafe || !(error instanceof Error)) {
      return toResponse(guard.error(error, stateOf(c), info(c), clientSafe))
    }
    // Malformed JSON from `c.req.json()` or a body cut short: 400, as Express and Fastify answer.
    const cache = c.req.bodyCache as unknown as BodyCache
    return isBodyError(cache, error).then((body) =>
      toResponse(guard.error(body ? bodyError(error) : error, stateOf(c), info(c), body)),
    )
  }
  const notFound: NotFoundHandler = function circuitBreakerNotFound(c) {
    return toResponse(guard.notFound(stateOf(c), info(c)))
  }
  return { middleware, onError, notFound }
}
