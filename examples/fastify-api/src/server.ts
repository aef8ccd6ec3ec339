/**
 * The scanner API on Fastify, wired as a production service: health endpoints, per-route
 * circuit breakers with error IDs and a supervised tunnel. Prometheus metrics, details and the
 * feed's fault injection are on the operator port (`ADMIN_HOST`:`ADMIN_PORT`), not here.
 *
 * Run: `pnpm start`. Settings: see README.md.
 */
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { fastifyBreakerPlugin } from '@scanner/circuit-breaker/fastify'
import { fastifyHealthPlugin } from '@scanner/health/fastify'
import { createScannerServices, exitOnStartupError, serverUrl } from '@scanner-examples/domain'

// A bad setting or a busy port: one line naming it, exit 1 (no stack trace).
const services = await createScannerServices().catch(exitOnStartupError)
const { config, logger, api, breakers, health } = services

// --- Fastify ----------------------------------------------------------------------------
const app = Fastify({ loggerInstance: logger, genReqId: () => randomUUID() })
// Every response gets an X-Request-Id, health probes included (the API scope's breaker plugin
// sets the same header for its routes).
app.addHook('onRequest', (request, reply, done) => {
  void reply.header('x-request-id', request.id)
  done()
})

await app.register(fastifyHealthPlugin, { health })

// The API in its own scope: the breaker plugin (request IDs, a breaker per route, errors as
// problem+json with an error ID) applies to these routes only, not to the health endpoints.
await app.register(
  async (scoped) => {
    await scoped.register(fastifyBreakerPlugin, { registry: breakers, logger })
    scoped.get('/tickers', () => api.tickers())
    scoped.get<{ Params: { symbol: string } }>('/quotes/:symbol', (request) =>
      api.quote(request.params.symbol),
    )
    scoped.get('/scan', (request) => api.scan(request.query as Record<string, unknown>))
    scoped.get<{ Params: { symbol: string } }>('/feed/:symbol', (request) =>
      api.feedQuote(request.params.symbol),
    )
  },
  { prefix: '/api' },
)

// --- Start, tunnel, shutdown ---------------------------------------------------------------
await services
  .start('fastify', async () => {
    await app.listen({ port: config.port, host: config.host })
    return { url: serverUrl(app.server), server: app.server, close: () => app.close() }
  })
  .catch(exitOnStartupError)
