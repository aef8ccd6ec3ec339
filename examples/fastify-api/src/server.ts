/**
 * The scanner API on Fastify, wired as a production service: health endpoints, per-route
 * circuit breakers with error IDs, Prometheus metrics and a supervised tunnel.
 *
 * Run: `pnpm start`. Settings: see README.md.
 */
import Fastify from 'fastify'
import pretty from 'pino-pretty'
import { Registry, collectDefaultMetrics } from 'prom-client'
import {
  breakerRoutes,
  createDeploymentLogger,
  createQuoteFeed,
  createScannerApi,
  dnsMonitorSettings,
  healthSettings,
  lazyCheck,
  openDatabase,
  readConfig,
  startDeployment,
  tunnelSettings,
} from '@scanner-examples/domain'
import { breakerCheck, createBreakerRegistry } from '@scanner/circuit-breaker'
import { fastifyBreakerPlugin } from '@scanner/circuit-breaker/fastify'
import {
  createDnsMonitor,
  createHealth,
  databaseCheck,
  dnsCheck,
  systemCheck,
} from '@scanner/health'
import { fastifyHealthPlugin } from '@scanner/health/fastify'
import { createTunnel, tunnelCheck, type Tunnel } from '@scanner/tunnel'
import { fakeCloudflaredPath } from '@scanner/tunnel/testing'

const config = readConfig()
const logger = createDeploymentLogger(config, { name: 'scanner-api', pretty })

// One prom-client registry handed to every package; served on GET /metrics.
const metrics = new Registry()
collectDefaultMetrics({ register: metrics })

const db = await openDatabase({ path: config.databasePath })
const feed = createQuoteFeed({ mode: config.feedMode })
const api = createScannerApi({ db, feed })

const breakers = createBreakerRegistry({ logger, metrics, routes: breakerRoutes })
const dns = config.dnsCheck
  ? createDnsMonitor({ ...dnsMonitorSettings(config), logger, metrics })
  : undefined
dns?.start()
let tunnel: Tunnel | undefined
const health = createHealth({
  ...healthSettings(config),
  logger,
  metrics,
  checks: [
    databaseCheck({ ping: () => db.ping() }),
    systemCheck(),
    ...(dns === undefined ? [] : [dnsCheck(dns)]),
    breakerCheck(breakers),
    lazyCheck('tunnel', () => (tunnel === undefined ? undefined : tunnelCheck(tunnel))),
  ],
})

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
await startDeployment({
  config,
  logger,
  framework: 'fastify',
  simulatorBin: fakeCloudflaredPath,
  listen: async () => {
    await app.listen({ port: config.port, host: config.host })
    const address = app.server.address()
    if (address === null || typeof address === 'string') throw new Error('not a TCP server')
    const host = address.address.includes(':') ? `[${address.address}]` : address.address
    return { url: `http://${host}:${address.port}`, close: () => app.close() }
  },
  startTunnel: (choice, localUrl) => {
    tunnel = createTunnel({ ...tunnelSettings(choice, config, localUrl, dns), logger, metrics })
    return tunnel
  },
  drain: () => {
    health.drain()
  },
  closers: [
    { name: 'close health', run: () => health.close() },
    { name: 'close DNS monitor', run: () => dns?.close() ?? Promise.resolve() },
    {
      name: 'close database',
      run: () => {
        db.close()
      },
    },
  ],
})
