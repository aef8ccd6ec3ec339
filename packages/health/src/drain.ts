import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Health } from './health.js'

/**
 * The part of a Node.js HTTP server that {@link closeConnectionsWhenDraining} uses: a `node:http`
 * or `node:https` `Server` (`app.listen()` of Express, `app.server` of Fastify, `serve()` of
 * `@hono/node-server`).
 */
export type DrainableServer = Pick<Server, 'prependListener' | 'removeListener'>

/**
 * While `health` drains, every request `server` receives is answered with `Connection: close`:
 * Node.js closes the keep-alive connection right after that response, so clients and balancers
 * reconnect elsewhere by themselves and no request is sent on a socket the server is about to
 * close. Installs no signal handler and changes nothing before `health.drain()`. Returns a
 * function that removes the listener.
 *
 * @example
 * ```ts
 * const server = app.listen(3000)
 * closeConnectionsWhenDraining(server, health)
 * process.once('SIGTERM', async () => {
 *   health.drain() // readiness 503, `Connection: close` on every response
 *   await setTimeout(10_000) // node:timers/promises: the balancer's checks see the 503
 *   server.close() // Node.js closes the idle keep-alive connections too
 *   await health.close()
 * })
 * ```
 */
export function closeConnectionsWhenDraining(
  server: DrainableServer,
  health: Pick<Health, 'draining'>,
): () => void {
  const onRequest = (_request: IncomingMessage, response: ServerResponse): void => {
    // Prepended, so it runs before the framework writes anything; the framework's own headers
    // are merged with this one.
    if (health.draining) response.setHeader('connection', 'close')
  }
  server.prependListener('request', onRequest)
  return () => {
    server.removeListener('request', onRequest)
  }
}
