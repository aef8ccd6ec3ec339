/**
 * Hono adapter of `@scanner/health`: a Hono app serving the four endpoints, to mount with
 * `app.route('/', healthApp)`.
 *
 * @module @scanner/health/hono
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { fetchHeaders, type Health, type HealthResponse } from '../health.js'

/** Options of {@link createHonoHealthApp}. */
export interface HonoHealthOptions {
  /**
   * Reads the caller's address (for the loopback rule of `details`).
   * @default under `@hono/node-server`, `c.env.incoming.socket.remoteAddress`; otherwise undefined
   */
  readonly getRemoteAddress?: (c: Context) => string | undefined
}

interface NodeBindings {
  readonly incoming?: {
    readonly headers?: Readonly<Record<string, string | string[] | undefined>>
    readonly socket?: { readonly remoteAddress?: string }
  }
}

function nodeRemoteAddress(c: Context): string | undefined {
  return (c.env as NodeBindings | undefined)?.incoming?.socket?.remoteAddress
}

/**
 * Creates a Hono app serving `/health/`, `/health/detailed/`, `/health/ready/` and
 * `/health/live/` (GET and HEAD, trailing slash optional) under the health instance's prefix.
 *
 * @example
 * ```ts
 * import { createHonoHealthApp } from '@scanner/health/hono'
 *
 * const app = new Hono()
 * app.route('/', createHonoHealthApp(health))
 * ```
 */
export function createHonoHealthApp(health: Health, options: HonoHealthOptions = {}): Hono {
  const getRemoteAddress = options.getRemoteAddress ?? nodeRemoteAddress
  const app = new Hono()
  for (const route of health.routes) {
    const paths = route.path === '/' ? ['/'] : [route.path, `${route.path}/`]
    app.on(['GET', 'HEAD'], paths, function healthEndpoint(c): Response | Promise<Response> {
      const result = health.respond({
        method: c.req.method,
        path: route.path,
        // Under @hono/node-server, Node's own header object: no Fetch Headers to build.
        headers:
          (c.env as NodeBindings | undefined)?.incoming?.headers ?? fetchHeaders(c.req.raw.headers),
        remoteAddress: getRemoteAddress(c),
      })
      // Through c.body(), not a bare Response: headers that middleware set before (a request
      // ID from hono/request-id or the breaker) are kept. Synchronous when no check has to run.
      const send = (response: HealthResponse): Response =>
        response.body === ''
          ? c.body(null, response.status as ContentfulStatusCode, response.headers)
          : c.body(response.body, response.status as ContentfulStatusCode, response.headers)
      return result instanceof Promise ? result.then(send) : send(result)
    })
  }
  return app
}
