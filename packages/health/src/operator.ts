import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { isIP, type AddressInfo } from 'node:net'
import { checkNumber, invalidOption, ScannerError, type Logger } from '@scanner/core'
import type { Registry } from 'prom-client'
import type { HealthRequest, HealthResponse } from './health.js'

/** A route of the operator port: a plain `node:http` handler. */
export type OperatorRouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
) => void | Promise<void>

/** Options of `health.listenOperator()`. Every field is optional. */
export interface OperatorOptions {
  /**
   * Address to listen on. Keep it on loopback (or a private interface the tunnel and the
   * public balancer never route to): everything on this port is shown to every caller.
   * @default '127.0.0.1'
   */
  readonly host?: string
  /**
   * TCP port; `0` picks a free port (read it from the returned `port`).
   * @default 0
   */
  readonly port?: number
  /**
   * A prom-client registry served on `GET /metrics` (text exposition format).
   * @default undefined (no `/metrics`)
   */
  readonly metrics?: Registry
  /**
   * More routes, matched on the exact path (no query string, no trailing-slash folding), any
   * method: the handler answers. A handler that throws or rejects gets 500 (or, once it has
   * sent its headers, a closed connection). Paths start with `/` and may not be the health
   * paths or `/metrics` (when `metrics` is set).
   * @default {}
   */
  readonly routes?: Readonly<Record<string, OperatorRouteHandler>>
  /**
   * Host names (besides IP addresses and `localhost`) a request's `Host` header may carry, for
   * example a Kubernetes service name that Prometheus scrapes. Any other name gets 403: a web
   * page can point a name it controls at 127.0.0.1 (DNS rebinding), but its requests still
   * carry that name. Compared without the port, case-insensitively.
   * @default []
   */
  readonly allowedHosts?: readonly string[]
}

/** A listening operator port; see `health.listenOperator()`. */
export interface OperatorServer {
  /** The bound address (`127.0.0.1`, `::1`, ...). */
  readonly host: string
  /** The bound port (the real one when `port: 0` was asked). */
  readonly port: number
  /** `http://<host>:<port>` (IPv6 in brackets). */
  readonly url: string
  /**
   * Stops listening, ends the responses still streaming (Server-Sent Events) and closes every
   * connection; a response still being prepared gets up to 2 s. Idempotent; also called by
   * `health.close()`.
   */
  close(): Promise<void>
}

/** What the operator port needs of a health instance (supplied by `createHealth`). */
export interface OperatorHost {
  /** The health paths (without trailing slash). */
  readonly paths: readonly string[]
  /** Answers a health request with details shown. */
  respondTrusted(request: HealthRequest): HealthResponse | Promise<HealthResponse>
  readonly logger: Logger
}

interface ResolvedOperatorOptions {
  readonly host: string
  readonly port: number
  readonly metrics: Registry | undefined
  readonly routes: ReadonlyMap<string, OperatorRouteHandler>
  readonly allowedHosts: ReadonlySet<string>
}

const CLOSE_GRACE_MS = 2000
const JSON_TYPE = 'application/json; charset=utf-8'
const ROUTE_PATH = /^\/[\x21-\x7e]*$/
const HOST_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$/

function resolveOperatorOptions(
  options: OperatorOptions,
  healthPaths: readonly string[],
): ResolvedOperatorOptions {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw invalidOption('options', 'an object', options)
  }
  const host = options.host ?? '127.0.0.1'
  if (typeof host !== 'string' || host === '' || /[\s/]/.test(host)) {
    throw invalidOption('host', 'an IP address or host name', host)
  }
  const port = checkNumber('port', options.port, 0, { min: 0, max: 65_535, integer: true })
  const metrics = options.metrics
  if (
    metrics !== undefined &&
    (typeof metrics !== 'object' ||
      (metrics as unknown) === null ||
      typeof (metrics as Partial<Registry>).metrics !== 'function')
  ) {
    throw invalidOption('metrics', 'a prom-client Registry', metrics)
  }
  const given = options.routes ?? {}
  if (typeof given !== 'object' || (given as unknown) === null || Array.isArray(given)) {
    throw invalidOption('routes', 'an object of path -> handler', given)
  }
  const reserved = new Set<string>(healthPaths.flatMap((p) => (p === '/' ? [p] : [p, `${p}/`])))
  if (metrics !== undefined) reserved.add('/metrics')
  const routes = new Map<string, OperatorRouteHandler>()
  for (const [path, handler] of Object.entries(given)) {
    if (!ROUTE_PATH.test(path) || path.includes('?') || path.includes('#')) {
      throw invalidOption(`routes["${path}"]`, 'a path starting with "/" (no query)', path)
    }
    if (reserved.has(path)) {
      throw invalidOption(
        `routes["${path}"]`,
        'a path the operator port does not serve itself',
        path,
      )
    }
    if (typeof handler !== 'function') {
      throw invalidOption(`routes["${path}"]`, 'a function (req, res) => void', handler)
    }
    routes.set(path, handler)
  }
  const allowed = options.allowedHosts ?? []
  if (!Array.isArray(allowed))
    throw invalidOption('allowedHosts', 'an array of host names', allowed)
  const allowedHosts = new Set<string>()
  for (const name of allowed as unknown[]) {
    if (typeof name !== 'string' || !HOST_NAME.test(name)) {
      throw invalidOption('allowedHosts[]', 'a host name without port', name)
    }
    allowedHosts.add(name.toLowerCase())
  }
  return { host, port, metrics, routes, allowedHosts }
}

/** `name`, `name:port`, `[v6]` or `[v6]:port` -> the name (lower case), or undefined. */
function hostName(header: string): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(header)
  return m?.[1]?.toLowerCase()
}

/** Whether a request's `Host` header may be answered (see `allowedHosts`). */
function hostAllowed(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (header === undefined) return true // HTTP/1.0 clients; browsers always send one
  const name = hostName(header)
  if (name === undefined) return false
  if (name === 'localhost' || allowed.has(name)) return true
  return isIP(name.startsWith('[') ? name.slice(1, -1) : name) !== 0
}

function sendText(
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
  head: boolean,
): void {
  res.writeHead(status, {
    ...headers,
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(body)),
  })
  res.end(head ? undefined : body)
}

function sendJson(res: ServerResponse, status: number, body: string, head = false): void {
  sendText(res, status, { 'content-type': JSON_TYPE }, body, head)
}

/**
 * Starts the operator port: a `node:http` listener serving the health endpoints with details,
 * `/metrics` and the extra routes. Used by `health.listenOperator()`.
 */
export async function startOperator(
  host: OperatorHost,
  options: OperatorOptions,
): Promise<OperatorServer> {
  const resolved = resolveOperatorOptions(options, host.paths)
  const healthPaths = new Map<string, string>()
  for (const path of host.paths) {
    healthPaths.set(path, path)
    if (path !== '/') healthPaths.set(`${path}/`, path)
  }
  const open = new Set<ServerResponse>()
  let closing = false

  const fail = (res: ServerResponse, error: unknown, path: string): void => {
    host.logger.error({ err: error, path }, 'operator route failed')
    if (res.headersSent) res.destroy()
    else sendJson(res, 500, '{"status":"error"}')
  }

  const serveMetrics = async (res: ServerResponse, head: boolean): Promise<void> => {
    const registry = resolved.metrics
    if (registry === undefined) return
    const text = await registry.metrics()
    sendText(res, 200, { 'content-type': registry.contentType }, text, head)
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    open.add(res)
    res.once('close', () => open.delete(res))
    if (closing) res.shouldKeepAlive = false
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const method = req.method ?? 'GET'
    const readOnly = method === 'GET' || method === 'HEAD'
    const head = method === 'HEAD'
    if (!hostAllowed(req.headers.host, resolved.allowedHosts)) {
      sendJson(res, 403, '{"status":"forbidden","detail":"Host is not an allowed name"}', head)
      return
    }
    try {
      const route = resolved.routes.get(path)
      if (route !== undefined) {
        const result = route(req, res)
        if (result instanceof Promise)
          result.catch((error: unknown) => {
            fail(res, error, path)
          })
        return
      }
      const healthPath = healthPaths.get(path)
      const isMetrics = path === '/metrics' && resolved.metrics !== undefined
      if (healthPath === undefined && !isMetrics) {
        sendJson(res, 404, '{"status":"not_found"}', head)
        return
      }
      if (!readOnly) {
        res.setHeader('allow', 'GET, HEAD')
        sendJson(res, 405, '{"status":"method_not_allowed"}')
        return
      }
      if (isMetrics) {
        serveMetrics(res, head).catch((error: unknown) => {
          fail(res, error, path)
        })
        return
      }
      const answer = host.respondTrusted({ method, path: healthPath ?? path, headers: req.headers })
      const send = (response: HealthResponse): void => {
        // The core's headers carry Content-Length and no-store; its HEAD body is already empty.
        res.writeHead(response.status, response.headers).end(response.body)
      }
      if (answer instanceof Promise) {
        answer.then(send, (error: unknown) => {
          fail(res, error, path)
        })
      } else {
        send(answer)
      }
    } catch (error) {
      fail(res, error, path)
    }
  }

  const server: Server = createServer(handle)
  // A caller that never finishes its request headers or body cannot hold a socket for long.
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new ScannerError(
          'ERR_HEALTH_OPERATOR_LISTEN',
          `the operator port could not listen on ${resolved.host}:${resolved.port} (${error.code ?? error.message})`,
          { cause: error },
        ),
      )
    }
    server.once('error', onError)
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('error', (error) => {
    host.logger.error({ err: error }, 'operator port error')
  })
  const address = server.address() as AddressInfo
  const boundHost = address.address
  const url = `http://${boundHost.includes(':') ? `[${boundHost}]` : boundHost}:${address.port}`

  let closed: Promise<void> | undefined
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      closing = true
      const force = setTimeout(() => {
        server.closeAllConnections()
      }, CLOSE_GRACE_MS)
      force.unref()
      server.close(() => {
        clearTimeout(force)
        resolve()
      })
      for (const res of open) {
        // A stream (Server-Sent Events) never ends by itself: end it, and its connection.
        if (res.headersSent) {
          const socket = res.socket
          res.end()
          socket?.destroySoon()
        } else {
          // Still being prepared: answered, then its connection ends (`Connection: close`).
          res.shouldKeepAlive = false
        }
      }
      server.closeIdleConnections()
    })
    return closed
  }
  return { host: boundHost, port: address.port, url, close }
}
