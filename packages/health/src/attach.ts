import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Health, HealthResponse } from './health.js'

/** Options of {@link attachHealth}. */
export interface AttachHealthOptions {
  /**
   * Reads the caller's address (for the loopback rule of `details`).
   * @default (req) => req.socket.remoteAddress
   */
  readonly getRemoteAddress?: (req: IncomingMessage) => string | undefined
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

function send(res: ServerResponse, response: HealthResponse): void {
  res.writeHead(response.status, response.headers).end(response.body)
}

/**
 * The probe fast path: answers `GET`/`HEAD` on the health paths straight from the
 * `http.Server`'s `'request'` event, before the app that listens there (Express, Koa, a plain
 * handler) sees the request. Same bodies, status codes, headers (`no-store`, `Content-Length`),
 * details rule and draining as the adapters; other methods and every other path go to the app
 * unchanged. Call it once the app is attached to the server (after `app.listen()` or
 * `http.createServer(app)`); it takes over the `'request'` listeners present at that time.
 * Returns a function that puts them back.
 *
 * What it skips, by design: everything the app would run for a probe (Express middleware such
 * as request IDs, access logs, CORS, rate limits).
 *
 * @example
 * ```ts
 * import { attachHealth } from '@scanner/health'
 *
 * const server = app.listen(8000)
 * attachHealth(server, health) // /health/live/ etc. answered before Express
 * ```
 */
export function attachHealth(
  server: Server,
  health: Health,
  options: AttachHealthOptions = {},
): () => void {
  const getRemoteAddress =
    options.getRemoteAddress ?? ((req: IncomingMessage) => req.socket.remoteAddress)
  const paths = new Map<string, string>()
  for (const route of health.routes) {
    paths.set(route.path, route.path)
    if (route.path !== '/') paths.set(`${route.path}/`, route.path)
  }
  const app = server.listeners('request') as RequestListener[]
  const passOn = (req: IncomingMessage, res: ServerResponse): void => {
    for (const listener of app) listener.call(server, req, res)
  }
  const fastPath = function healthFastPath(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') {
      passOn(req, res)
      return
    }
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = paths.get(q === -1 ? url : url.slice(0, q))
    if (path === undefined) {
      passOn(req, res)
      return
    }
    const result = health.respond({
      method,
      path,
      headers: req.headers,
      remoteAddress: getRemoteAddress(req),
    })
    if (result instanceof Promise) {
      void result.then((response) => {
        send(res, response)
      })
    } else {
      send(res, result)
    }
  }
  for (const listener of app) server.off('request', listener)
  server.on('request', fastPath)
  let attached = true
  return function detachHealth() {
    if (!attached) return
    attached = false
    server.off('request', fastPath)
    for (const listener of app) server.on('request', listener)
  }
}
