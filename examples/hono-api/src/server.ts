/**
 * The scanner API on Hono (Node.js through @hono/node-server), wired as a production service:
 * health endpoints, per-route circuit breakers with error IDs and a supervised tunnel.
 * Prometheus metrics, details and the feed's fault injection are on the operator port
 * (`ADMIN_HOST`:`ADMIN_PORT`), not here.
 *
 * Run: `pnpm start`. Settings: see README.md.
 */
import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { createHonoBreaker } from '@scanner/circuit-breaker/hono'
import { createHonoHealthApp } from '@scanner/health/hono'
import {
  createScannerServices,
  exitOnStartupError,
  listeningServer,
} from '@scanner-examples/domain'

// A bad setting or a busy port: one line naming it, exit 1 (no stack trace).
const services = await createScannerServices().catch(exitOnStartupError)
const { config, logger, api, breakers, health } = services

// --- Hono -------------------------------------------------------------------------------
const app = new Hono()
// `middleware` on the API only: request IDs and a breaker per route pattern.
const breaker = createHonoBreaker(breakers, { logger })

// Every response gets an X-Request-Id, health probes included (the breaker reuses this ID).
app.use(requestId())
app.route('/', createHonoHealthApp(health))
app.use('/api/*', breaker.middleware)
app.get('/api/tickers', (c) => c.json(api.tickers()))
app.get('/api/quotes/:symbol', (c) => c.json(api.quote(c.req.param('symbol'))))
app.get('/api/scan', (c) => c.json(api.scan(c.req.queries())))
app.get('/api/feed/:symbol', async (c) => c.json(await api.feedQuote(c.req.param('symbol'))))

// Errors become problem+json with an error ID (body, X-Error-Id, log); 4xx keep their message.
app.onError(breaker.onError)

// --- Start, tunnel, shutdown ---------------------------------------------------------------
await services
  .start(
    'hono',
    () =>
      new Promise((resolve, reject) => {
        const server = serve(
          {
            fetch: app.fetch,
            port: config.port,
            hostname: config.host,
          },
          () => {
            resolve(listeningServer(server as Server))
          },
        )
        server.once('error', reject)
      }),
  )
  .catch(exitOnStartupError)
