import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { isLoopbackHostHeader } from './host-header.js'
import { parseListen } from './config.js'
import { CliError } from './errors.js'
import type { CliMetrics } from './metrics.js'

/**
 * Bounds of the status listener. Any local user can connect to it, so no client may hold more
 * than these: a flood of idle or half-sent connections is dropped instead of using up the
 * watchdog's file descriptors (which it needs to restart cloudflared and reopen its logs).
 */
export interface StatusServerLimits {
  /** Open connections at most; more are closed at once. */
  readonly maxConnections: number
  /** Time a client gets to send its request headers. */
  readonly headersTimeoutMs: number
  /** Time a client gets to send its whole request. */
  readonly requestTimeoutMs: number
  /** Idle time of a kept-alive connection. */
  readonly keepAliveTimeoutMs: number
}

/** The limits `scanner-tunnel run` uses. */
export const statusServerLimits: StatusServerLimits = {
  maxConnections: 32,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 1000,
}

/** What the status listener serves. */
export interface StatusSource {
  /** The document of `GET /status`. */
  status(): unknown
  /** The registry of `GET /metrics`; `undefined` without prom-client (501). */
  readonly metrics: CliMetrics | undefined
  /**
   * More handlers by exact path (`POST /reload`, the status page), tried first. `/` and
   * `/status` stay JSON unless `html` is set and the request prefers `text/html` (a browser).
   */
  readonly routes?: Readonly<Record<string, (req: IncomingMessage, res: ServerResponse) => unknown>>
  /** Where a browser asking for `/` or `/status` is sent (303), e.g. the status page. */
  readonly html?: string
}

/**
 * Serves `GET /status` (JSON) and `GET /metrics` (Prometheus) on the loopback address
 * `listen` ("host:port"), or nothing for "off".
 *
 * @throws {CliError} `ERR_TUNNEL_CLI_CONFIG` when the address cannot be bound (busy port).
 */
export async function listenStatus(
  listen: string,
  source: StatusSource,
  limits: StatusServerLimits = statusServerLimits,
): Promise<Server | undefined> {
  if (listen === 'off') return undefined
  const address = parseListen(listen)
  if (!address) return undefined
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks those two timeouts on this interval (30 s by default).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    (req, res) => {
      // A browser always sends Host; a DNS-rebinding page sends its own name: 403, nothing read.
      const host = req.headers.host
      if (host !== undefined && !isLoopbackHostHeader(host)) {
        res.writeHead(403, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        res.end(
          JSON.stringify({
            error: `Host "${host.slice(0, 100)}" is not a loopback address (127.0.0.1, localhost or [::1])`,
          }),
        )
        return
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/'
      const route =
        source.routes !== undefined && Object.hasOwn(source.routes, path)
          ? source.routes[path]
          : undefined
      if (route !== undefined) {
        Promise.resolve()
          .then(() => route(req, res))
          .catch(() => {
            if (res.headersSent) res.destroy()
            else {
              res.writeHead(500, { 'content-type': 'application/json' })
              res.end('{"error":"internal error"}')
            }
          })
        return
      }
      if (
        source.html !== undefined &&
        req.method === 'GET' &&
        (path === '/status' || path === '/') &&
        /\btext\/html\b/.test(req.headers.accept ?? '')
      ) {
        res.writeHead(303, { location: source.html, 'cache-control': 'no-store', vary: 'accept' })
        res.end()
        return
      }
      if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/status' || path === '/')) {
        let body: string
        try {
          body = JSON.stringify(source.status())
        } catch (error) {
          res.writeHead(500, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: (error as Error).message }))
          return
        }
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        res.end(req.method === 'HEAD' ? undefined : body)
        return
      }
      if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
        const metrics = source.metrics
        if (metrics === undefined) {
          res.writeHead(501, { 'content-type': 'text/plain; charset=utf-8' })
          res.end('metrics need the prom-client package: npm install prom-client\n')
          return
        }
        metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' })
            res.end(req.method === 'HEAD' ? undefined : text)
          },
          (error: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
            res.end(`${(error as Error).message}\n`)
          },
        )
        return
      }
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"error":"not found; try GET /status or GET /metrics"}')
    },
  )
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  server.maxConnections = limits.maxConnections
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => {
      server.off('error', reject)
      resolve()
    })
  }).catch((error: unknown) => {
    throw new CliError(
      'ERR_TUNNEL_CLI_CONFIG',
      `Cannot listen on "status.listen" ${listen}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    )
  })
  server.unref()
  return server
}

/** Closes the status listener and every connection it holds. */
export function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve()
  return new Promise((resolve) => {
    server.close(() => {
      resolve()
    })
    server.closeAllConnections()
  })
}
