/**
 * The scanner API on Hono (Node.js through @hono/node-server), wired as a production service:
 * health endpoints, per-route circuit breakers with error IDs, Prometheus metrics and a
 * supervised tunnel.
 *
 * Run: `pnpm start`. Settings: see README.md.
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
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
import { createHonoBreaker } from '@scanner/circuit-breaker/hono'
import {
  createDnsMonitor,
  createHealth,
  databaseCheck,
  dnsCheck,
  systemCheck,
} from '@scanner/health'
import { createHonoHealthApp } from '@scanner/health/hono'
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

// --- Hono -------------------------------------------------------------------------------
const app = new Hono()
// `middleware` on the API only: request IDs and a breaker per route pattern.
const breaker = createHonoBreaker(breakers, { logger })

app.route('/', createHonoHealthApp(health))
app.get('/metrics', async (c) =>
  c.body(await metrics.metrics(), 200, { 'content-type': metrics.contentType }),
)
app.use('/api/*', breaker.middleware)
app.get('/api/tickers', (c) => c.json(api.tickers()))
app.get('/api/quotes/:symbol', (c) => c.json(api.quote(c.req.param('symbol'))))
app.get('/api/scan', (c) => c.json(api.scan(c.req.queries())))
app.get('/api/feed/mode', (c) => c.json(api.feedMode()))
app.post('/api/feed/mode', async (c) => c.json(api.setFeedMode(await c.req.json())))
app.get('/api/feed/:symbol', async (c) => c.json(await api.feedQuote(c.req.param('symbol'))))

// Errors become problem+json with an error ID (body, X-Error-Id, log); 4xx keep their message.
app.onError(breaker.onError)

// --- Start, tunnel, shutdown ---------------------------------------------------------------
await startDeployment({
  config,
  logger,
  framework: 'hono',
  simulatorBin: fakeCloudflaredPath,
  listen: () =>
    new Promise((resolve, reject) => {
      // overrideGlobalObjects: false keeps the standard Response: @scanner/health answers with
      // frozen header objects, which the lightweight Response of @hono/node-server cannot extend.
      const server = serve(
        {
          fetch: app.fetch,
          port: config.port,
          hostname: config.host,
          overrideGlobalObjects: false,
        },
        () => {
          const { address, port } = server.address() as AddressInfo
          const host = address.includes(':') ? `[${address}]` : address
          resolve({
            url: `http://${host}:${port}`,
            close: () =>
              new Promise<void>((done, fail) => {
                server.close((err) => {
                  if (err) fail(err)
                  else done()
                })
              }),
          })
        },
      )
      server.once('error', reject)
    }),
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
