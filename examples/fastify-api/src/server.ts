/**
 * The scanner API on Fastify, wired as a production service: health endpoints, per-route
 * circuit breakers with error IDs, Prometheus metrics and a supervised tunnel.
 *
 * Run: `pnpm start`. Settings: see README.md.
 */
import Fastify from 'fastify'
import { fastifyBreakerPlugin } from '@scanner/circuit-breaker/fastify'
import { fastifyHealthPlugin } from '@scanner/health/fastify'
import { createScannerServices, serverUrl } from '@scanner-examples/domain'

const services = await createScannerServices()
const { config, logger, metrics, api, breakers, health } = services

// --- Fastify ----------------------------------------------------------------------------
const app = Fastify({ loggerInstance: logger })

await app.register(fastifyHealthPlugin, { health })
app.get('/metrics', async (_request, reply) => {
  return reply.type(metrics.contentType).send(await metrics.metrics())
})

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
    scoped.get('/feed/mode', () => api.feedMode())
    scoped.post('/feed/mode', (request) => api.setFeedMode(request.body))
    scoped.get<{ Params: { symbol: string } }>('/feed/:symbol', (request) =>
      api.feedQuote(request.params.symbol),
    )
  },
  { prefix: '/api' },
)

// --- Start, tunnel, shutdown ---------------------------------------------------------------
await services.start('fastify', async () => {
  await app.listen({ port: config.port, host: config.host })
  return { url: serverUrl(app.server), server: app.server, close: () => app.close() }
})
