/**
 * The scanner API on Express, wired as a production service: health endpoints, per-route
 * circuit breakers with error IDs, Prometheus metrics and a supervised tunnel.
 *
 * Run: `pnpm start` (or `pnpm demo` for the guided demo). Settings: see README.md.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
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
import { createExpressBreaker } from '@scanner/circuit-breaker/express'
import {
  createDnsMonitor,
  createHealth,
  databaseCheck,
  dnsCheck,
  systemCheck,
} from '@scanner/health'
import { createExpressHealthHandler } from '@scanner/health/express'
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

// --- Express ----------------------------------------------------------------------------
const app = express()
app.disable('x-powered-by')
// `middleware` globally gives every request an ID; on a route it also runs that route's
// breaker (Express knows the route pattern only there). `errorHandler` goes last.
const { middleware: breaker, errorHandler } = createExpressBreaker(breakers, { logger })
app.use(breaker)

app.use(createExpressHealthHandler(health))
app.get('/metrics', async (_req, res) => {
  res.type(metrics.contentType).send(await metrics.metrics())
})

app.get('/api/tickers', breaker, (_req, res) => {
  res.json(api.tickers())
})
app.get('/api/quotes/:symbol', breaker, (req, res) => {
  res.json(api.quote(req.params.symbol))
})
app.get('/api/scan', breaker, (req, res) => {
  res.json(api.scan(req.query))
})
app.get('/api/feed/mode', breaker, (_req, res) => {
  res.json(api.feedMode())
})
app.post('/api/feed/mode', breaker, express.json(), (req, res) => {
  res.json(api.setFeedMode(req.body))
})
app.get('/api/feed/:symbol', breaker, async (req, res) => {
  res.json(await api.feedQuote(req.params.symbol))
})

// Errors become problem+json with an error ID (body, X-Error-Id, log); 4xx keep their message.
app.use(errorHandler)

// --- Start, tunnel, shutdown ---------------------------------------------------------------
await startDeployment({
  config,
  logger,
  framework: 'express',
  simulatorBin: fakeCloudflaredPath,
  listen: () =>
    new Promise((resolve, reject) => {
      const server = app.listen(config.port, config.host, (error) => {
        if (error) {
          reject(error)
          return
        }
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
              server.closeIdleConnections()
            }),
        })
      })
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
