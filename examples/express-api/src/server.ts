/**
 * The scanner API on Express, wired as a production service: health endpoints, per-route
 * circuit breakers with error IDs, Prometheus metrics and a supervised tunnel.
 *
 * Run: `pnpm start` (or `pnpm demo` for the guided demo). Settings: see README.md.
 */
import express from 'express'
import { createExpressBreaker } from '@scanner/circuit-breaker/express'
import { createExpressHealthHandler } from '@scanner/health/express'
import { createScannerServices, listeningServer } from '@scanner-examples/domain'

const services = await createScannerServices()
const { config, logger, metrics, api, breakers, health } = services

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
await services.start(
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
