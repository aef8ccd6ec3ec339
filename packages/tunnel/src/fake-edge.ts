/**
 * A fake Cloudflare edge for tests (part of `@scanner/tunnel/testing`): a loopback HTTP server
 * that simulator processes (`FAKE_CLOUDFLARED_EDGE`) register their connections with, and that
 * forwards each request through a registered replica to the origin, the way requests reach a
 * real cloudflared. With no registered connection it answers 530 (`error code: 1033`), like the
 * edge's "Argo Tunnel error" page. A replica that shuts down gracefully unregisters first
 * (`POST /_edge/unregister`, answered once nothing new can be routed to it, like cloudflared's
 * UnregisterConnection) and finishes its in-flight requests; one that dies drops its
 * connections at once.
 *
 * Retries, as the real edge: a request goes to another registered connection only when the one
 * chosen was gone before the request reached the replica (connection refused, or an idle
 * keep-alive connection the replica closed as the request was written on it, which the replica
 * never read). Once a replica has the request, a failure is the client's `502`: the edge never
 * sends a request twice. An unregistered replica keeps the connections that carry requests
 * until each is answered; only its idle ones are closed.
 */
import { Agent, createServer, request as httpRequest } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** One registered connection of a replica. */
export interface FakeEdgeConnection {
  /** The replica's connector id (one per cloudflared process). */
  readonly connector: string
  readonly connIndex: number
}

/** Counters of a {@link FakeEdge}. */
export interface FakeEdgeStats {
  /** Requests received from clients. */
  readonly requests: number
  /** Requests answered through a replica (any status from the origin). */
  readonly forwarded: number
  /** Requests answered 530 because no connection was registered. */
  readonly unavailable: number
  /** Requests answered 502 because the replica failed while serving them. */
  readonly errors: number
}

/** A running fake edge; see {@link createFakeEdge}. */
export interface FakeEdge {
  /** `http://127.0.0.1:<port>`: clients send requests here; give it to the simulator as `edge`. */
  readonly url: string
  /** Registered connections now. */
  connections(): readonly FakeEdgeConnection[]
  /** Connector ids with at least one registered connection. */
  connectors(): readonly string[]
  stats(): FakeEdgeStats
  /** Closes the server and every registration. */
  close(): Promise<void>
}

interface Registration extends FakeEdgeConnection {
  readonly target: URL
  readonly response: ServerResponse
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
])

function isLoopbackTarget(target: URL): boolean {
  return target.protocol === 'http:' && target.hostname === '127.0.0.1' && target.port !== ''
}

/**
 * Starts a fake edge on `127.0.0.1` (a free port).
 *
 * @example
 * ```ts
 * const edge = await createFakeEdge()
 * const tunnel = createTunnel({
 *   bin: fakeCloudflaredPath,
 *   token: fakeCloudflaredToken(),
 *   env: fakeCloudflaredEnv('normal', { edge: edge.url, origin: 'http://127.0.0.1:3000' }),
 * })
 * await tunnel.start()
 * await tunnel.waitForReady()
 * await fetch(`${edge.url}/health/`) // through the edge, a replica, to the origin
 * ```
 */
export async function createFakeEdge(): Promise<FakeEdge> {
  const registrations = new Set<Registration>()
  // Persistent connections to each replica, like the edge's long-lived tunnel connections.
  const agents = new Map<string, Agent>()
  const agentFor = (target: URL): Agent => {
    let agent = agents.get(target.href)
    if (agent === undefined) {
      agent = new Agent({ keepAlive: true, maxSockets: 64 })
      agents.set(target.href, agent)
    }
    return agent
  }
  /**
   * A replica with no registered connection left: its idle sockets go now, and each busy one
   * once its request is answered. Never `agent.destroy()`, which also cuts the requests the
   * replica is still serving (a stopping replica finishes those within its grace period).
   */
  const retired = new Set<Agent>()
  const retire = (agent: Agent): void => {
    retired.add(agent)
    const idle = (socket: Socket): boolean =>
      Object.values(agent.freeSockets).some((list) => list?.includes(socket) === true)
    for (const list of Object.values(agent.freeSockets)) {
      for (const socket of [...(list ?? [])]) socket.destroy()
    }
    // Runs after the agent's own 'free' handler, which keeps the socket as idle.
    agent.on('free', (socket: Socket) => {
      if (idle(socket)) socket.destroy()
    })
    // Forgotten once its last socket is gone (the agent drops a name's list when it empties).
    const settle = (): void => {
      if (Object.keys(agent.sockets).length === 0 && Object.keys(agent.freeSockets).length === 0)
        retired.delete(agent)
    }
    for (const list of Object.values(agent.sockets)) {
      for (const socket of list ?? []) socket.once('close', () => setImmediate(settle))
    }
    setImmediate(settle)
  }
  let next = 0
  const stats = { requests: 0, forwarded: 0, unavailable: 0, errors: 0 }

  const register = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const connector = url.searchParams.get('connector') ?? ''
    const connIndex = Number(url.searchParams.get('conn'))
    let target: URL
    try {
      target = new URL(url.searchParams.get('target') ?? '')
    } catch {
      res.writeHead(400).end('bad target\n')
      return
    }
    // Loopback only: the edge never forwards anywhere else.
    if (connector === '' || !Number.isInteger(connIndex) || !isLoopbackTarget(target)) {
      res.writeHead(400).end('bad registration\n')
      return
    }
    const registration: Registration = { connector, connIndex, target, response: res }
    registrations.add(registration)
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.flushHeaders()
    // The connection is registered for as long as the replica holds this request open.
    req.socket.setKeepAlive(true)
    res.on('close', () => {
      registrations.delete(registration)
      if (![...registrations].some((r) => r.target.href === target.href)) {
        const agent = agents.get(target.href)
        agents.delete(target.href)
        if (agent !== undefined) retire(agent)
      }
    })
  }

  const pick = (exclude: ReadonlySet<string>): Registration | undefined => {
    const live = [...registrations].filter((r) => !exclude.has(r.target.href))
    if (live.length === 0) return undefined
    next = (next + 1) % live.length
    return live[next]
  }

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const tried = new Set<string>()
    const attempt = (): void => {
      const registration = pick(tried)
      if (registration === undefined) {
        stats.unavailable++
        res.writeHead(530, { 'content-type': 'text/plain; charset=utf-8', 'cf-ray': 'fake-edge' })
        res.end('error code: 1033\n')
        return
      }
      tried.add(registration.target.href)
      const headers: Record<string, string | string[]> = {}
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(key)) headers[key] = value
      }
      headers['cf-ray'] = `${Date.now().toString(16)}-FAKE`
      headers['cdn-loop'] = 'cloudflare'
      const upstream = httpRequest(
        new URL(req.url ?? '/', registration.target),
        { method: req.method, headers, agent: agentFor(registration.target) },
        (answer) => {
          stats.forwarded++
          const out: Record<string, string | string[]> = {}
          for (const [key, value] of Object.entries(answer.headers)) {
            if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value
          }
          res.writeHead(answer.statusCode ?? 502, out)
          answer.pipe(res)
          answer.on('error', () => res.destroy())
        },
      )
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        // Nothing reached the replica (its listener just closed, or it closed an idle
        // connection as the request was sent on it): the edge tries another connection, as it
        // never routes to a connection that is gone.
        const unsent =
          error.code === 'ECONNREFUSED' ||
          (upstream.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE'))
        if (unsent && !res.headersSent) {
          attempt()
          return
        }
        stats.errors++
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' })
          // The fake edge names what failed (a test's failure message can show it).
          res.end(
            `error code: 502\nreplica ${registration.connector}: ${error.code ?? ''} ${error.message}\n`,
          )
        } else res.destroy()
      })
      upstream.end(body)
    }
    attempt()
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://edge.invalid')
    if (url.pathname === '/_edge/connect' && req.method === 'GET') {
      register(req, res, url)
      return
    }
    if (url.pathname === '/_edge/unregister' && req.method === 'POST') {
      // cloudflared's UnregisterConnection: once answered, nothing new is routed there.
      const connector = url.searchParams.get('connector') ?? ''
      for (const r of [...registrations]) {
        if (r.connector === connector) {
          registrations.delete(r)
          r.response.end()
        }
      }
      req.resume()
      res.writeHead(200, { 'content-type': 'text/plain' }).end('unregistered\n')
      return
    }
    stats.requests++
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      forward(req, res, Buffer.concat(chunks))
    })
    req.on('error', () => res.destroy())
  })
  // Long-lived client connections, like the edge: no idle-close race with a busy client.
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0

  return {
    url: `http://127.0.0.1:${String(port)}`,
    connections: () =>
      [...registrations].map((r) => ({ connector: r.connector, connIndex: r.connIndex })),
    connectors: () => [...new Set([...registrations].map((r) => r.connector))],
    stats: () => ({ ...stats }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of registrations) r.response.destroy()
        registrations.clear()
        for (const agent of [...agents.values(), ...retired]) agent.destroy()
        agents.clear()
        retired.clear()
        server.close(() => {
          resolve()
        })
        server.closeAllConnections()
      }),
  }
}
