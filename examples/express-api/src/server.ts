/**
 * The scanner API on Express, wired as a production service: health endpoints, per-route
 * circuit breakers with error IDs and a supervised tunnel. Prometheus metrics, details and the
 * feed's fault injection are on the operator port (`ADMIN_HOST`:`ADMIN_PORT`), not here.
 *
 * Run: `pnpm start` (or `pnpm demo` for the guided demo). Settings: see README.md.
 */
import express from 'express'
import { createExpressBreaker } from '@scanner/circuit-breaker/express'
import { createExpressHealthHandler } from '@scanner/health/express'
import {
  createScannerServices,
  exitOnStartupError,
  listeningServer,
} from '@scanner-examples/domain'

// A bad setting or a busy port: one line naming it, exit 1 (no stack trace).
const services = await createScannerServices().catch(exitOnStartupError)
const { config, logger, api, breakers, health } = services

// --- Express ----------------------------------------------------------------------------
const app = express()
app.disable('x-powered-by')
// `middleware` globally gives every request an ID; on a route it also runs that route's
// breaker (Express knows the route pattern only there). `errorHandler` goes last.
const { middleware: breaker, errorHandler } = createExpressBreaker(breakers, { logger })
app.use(breaker)

app.use(createExpressHealthHandler(health))

app.get('/api/tickers', breaker, (_req, res) => {
  res.json(api.tickers())
})
app.get('/api/quotes/:symbol', breaker, (req, res) => {
  res.json(api.quote(req.params.symbol))
})
app.get('/api/scan', breaker, (req, res) => {
  res.json(api.scan(req.query))
})
app.get('/api/feed/:symbol', breaker, async (req, res) => {
  res.json(await api.feedQuote(req.params.symbol))
})

// Errors become problem+json with an error ID (body, X-Error-Id, log); 4xx keep their message.
app.use(errorHandler)

// --- Start, tunnel, shutdown ---------------------------------------------------------------
await services
  .start(
    'express',
    () =>
      new Promise((resolve, reject) => {
        const server = app.listen(config.port, config.host, (error) => {
          if (error) {
            reject(error)
            return
          }
          resolve(listeningServer(server))
        })
      }),
  )
  .catch(exitOnStartupError)
