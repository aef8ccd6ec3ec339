// Throughput of the breaker + error middleware per framework, as ratios to the bare route
// (the same app without them), measured in the same run:
//   breaker: request IDs + route breaker + error handler, healthy route
//   open:    the same with the route's breaker open: 503 without the handler
// and the floors to compare them with (issue 17):
//   reqid:   the framework's idiomatic request-ID middleware alone (validate or create, echo)
//   opossum: one opossum breaker fired per request around the route, as a user would write it
//   cockatiel: circuitBreaker(handleAll, new ConsecutiveBreaker(5)) around the route
// Targets against the floors (same rounds): healthy >= 0.97 x request ID only and ahead of
// naive opossum and cockatiel; open circuit >= 1.0 x request ID only.
// How the ratios are measured (each mode in its own server process, loaded at the same time
// as the bare one, both sharing one CPU): see bench/lib/ratio.ts.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { listenOnLoopback, runRatioBench } from '../../../bench/lib/ratio.js'
import { randomUUID } from 'node:crypto'
import type { Request, Response } from 'express'

/** `hono` runs on @hono/node-server 1.19, `hono-v2` on @hono/node-server 2. */
type Framework = 'express' | 'fastify' | 'hono' | 'hono-v2'
type Mode = 'bare' | 'breaker' | 'open' | 'reqid' | 'opossum' | 'cockatiel'
const FRAMEWORKS: readonly Framework[] = ['express', 'fastify', 'hono', 'hono-v2']
const PATTERN = '/api/quotes/:symbol'

async function serve(framework: Framework, mode: Mode): Promise<number> {
  const { createBreakerRegistry } = await import('@scanner/circuit-breaker')
  const registry = createBreakerRegistry({ volumeThreshold: 1, resetTimeoutMs: 3_600_000 })
  const protect = mode === 'breaker' || mode === 'open'
  const { default: CircuitBreaker } = await import('opossum')
  const { circuitBreaker, handleAll, ConsecutiveBreaker } = await import('cockatiel')
  const cockatiel = circuitBreaker(handleAll, {
    halfOpenAfter: 10_000,
    breaker: new ConsecutiveBreaker(5),
  })
  // The floors' request ID: kept when it looks safe, else a fresh UUID, echoed on the response.
  const SAFE_ID = /^[\w.:@+=/-]{1,128}$/
  const requestId = (incoming: unknown): string =>
    typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : randomUUID()
  const quote = (symbol: string): { symbol: string; price: number } => {
    if (mode === 'open') throw new Error('upstream down')
    return { symbol, price: 101.25 }
  }
  let handler: (req: IncomingMessage, res: ServerResponse) => void
  if (framework === 'express') {
    const { default: express } = await import('express')
    const { createExpressBreaker } = await import('@scanner/circuit-breaker/express')
    const app = express()
    const cb = createExpressBreaker(registry)
    if (protect) app.use(cb.middleware)
    const route = (req: Request, res: Response): void => {
      res.json(quote(String(req.params.symbol)))
    }
    if (mode === 'reqid') {
      app.use((req, res, next) => {
        res.setHeader('x-request-id', requestId(req.headers['x-request-id']))
        next()
      })
    }
    if (protect) app.get(PATTERN, cb.middleware, route)
    else if (mode === 'opossum') {
      const breaker = new CircuitBreaker((req: Request, res: Response) => {
        route(req, res)
        return Promise.resolve()
      })
      app.get(PATTERN, (req, res, next) => {
        breaker.fire(req, res).catch(next)
      })
    } else if (mode === 'cockatiel') {
      app.get(PATTERN, (req, res, next) => {
        cockatiel
          .execute(() => {
            route(req, res)
          })
          .catch(next)
      })
    } else app.get(PATTERN, route)
    if (protect) app.use(cb.errorHandler)
    handler = app
  } else if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const { fastifyBreakerPlugin } = await import('@scanner/circuit-breaker/fastify')
    const app = Fastify({ logger: false })
    if (protect) await app.register(fastifyBreakerPlugin, { registry })
    if (mode === 'reqid') {
      app.addHook('onRequest', (request, reply, done) => {
        void reply.header('x-request-id', requestId(request.headers['x-request-id']))
        done()
      })
    }
    if (mode === 'opossum') {
      const breaker = new CircuitBreaker((symbol: string) => Promise.resolve(quote(symbol)))
      app.get<{ Params: { symbol: string } }>(PATTERN, (request) =>
        breaker.fire(request.params.symbol),
      )
    } else if (mode === 'cockatiel') {
      app.get<{ Params: { symbol: string } }>(PATTERN, (request) =>
        cockatiel.execute(() => quote(request.params.symbol)),
      )
    } else {
      app.get<{ Params: { symbol: string } }>(PATTERN, (request) => quote(request.params.symbol))
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    return (app.server.address() as AddressInfo).port
  } else {
    const { Hono } = await import('hono')
    const { createHonoBreaker } = await import('@scanner/circuit-breaker/hono')
    const app = new Hono()
    if (protect) {
      const cb = createHonoBreaker(registry)
      app.use(cb.middleware)
      app.onError(cb.onError)
    }
    if (mode === 'reqid') {
      const { requestId: honoRequestId } = await import('hono/request-id')
      app.use(honoRequestId())
    }
    if (mode === 'opossum') {
      const breaker = new CircuitBreaker((symbol: string) => Promise.resolve(quote(symbol)))
      app.get(PATTERN, async (c) => c.json(await breaker.fire(c.req.param('symbol'))))
    } else if (mode === 'cockatiel') {
      app.get(PATTERN, async (c) =>
        c.json(await cockatiel.execute(() => quote(c.req.param('symbol')))),
      )
    } else {
      app.get(PATTERN, (c) => c.json(quote(c.req.param('symbol'))))
    }
    const { getRequestListener } =
      framework === 'hono-v2'
        ? await import('@hono/node-server-v2')
        : await import('@hono/node-server')
    const listener = getRequestListener(app.fetch)
    handler = (req, res) => {
      void listener(req, res)
    }
  }
  return listenOnLoopback(handler)
}

if (process.argv[2] === 'serve') {
  const mode = process.argv[4] as Mode
  const port = await serve(process.argv[3] as Framework, mode)
  if (mode === 'open') {
    // Trip the breaker the real way: one failing request (volumeThreshold is 1).
    const url = `http://127.0.0.1:${port}/api/quotes/ACME`
    const first = await fetch(url)
    await first.arrayBuffer()
    const second = await fetch(url)
    await second.arrayBuffer()
    if (first.status !== 500 || second.status !== 503) {
      throw new Error(`breaker did not open: ${first.status}, then ${second.status}`)
    }
  }
  process.stdout.write(`${port}\n`)
} else {
  await runRatioBench({
    file: fileURLToPath(import.meta.url),
    frameworks: FRAMEWORKS,
    variants: [
      { name: 'bare', label: 'bare route', path: '/api/quotes/ACME' },
      {
        name: 'breaker',
        label: 'breaker + errors, healthy',
        path: '/api/quotes/ACME',
        floors: [
          { name: 'reqid', target: 0.97 },
          { name: 'opossum', target: 1 },
          { name: 'cockatiel', target: 1 },
        ],
      },
      { name: 'reqid', label: 'floor: request ID only', path: '/api/quotes/ACME' },
      { name: 'opossum', label: 'floor: naive opossum', path: '/api/quotes/ACME' },
      { name: 'cockatiel', label: 'floor: cockatiel', path: '/api/quotes/ACME' },
      {
        name: 'open',
        label: 'open circuit (503)',
        path: '/api/quotes/ACME',
        status: 503,
        floors: [{ name: 'reqid', target: 1 }],
      },
    ],
  })
}
