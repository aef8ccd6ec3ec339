import { listenOnLoopback, runRatioBench } from '../../../bench/lib/ratio.js'
import { fileURLToPath } from 'node:url'
if (process.argv[2] === 'serve') {
  const [fw, v] = [process.argv[3], process.argv[4]]
  const { createBreakerRegistry } = await import('@scanner/circuit-breaker')
  const registry = createBreakerRegistry({ volumeThreshold: 1, resetTimeoutMs: 3_600_000 })
  const opts = { breaker: v !== 'idsonly' }
  let port: number
  if (fw === 'hono') {
    const { Hono } = await import('hono')
    const { createHonoBreaker } = await import('@scanner/circuit-breaker/hono')
    const app = new Hono()
    if (v === 'noop') app.use((_c, next) => next())
    if (v === 'full' || v === 'idsonly') {
      const cb = createHonoBreaker(registry, opts)
      app.use(cb.middleware)
      app.onError(cb.onError)
    }
    app.get('/api/quotes/:symbol', (c) => c.json({ symbol: c.req.param('symbol'), price: 101.25 }))
    const { getRequestListener } = await import('@hono/node-server')
    const l = getRequestListener(app.fetch)
    port = await listenOnLoopback((req, res) => {
      void l(req, res)
    })
  } else {
    const { default: Fastify } = await import('fastify')
    const { fastifyBreakerPlugin } = await import('@scanner/circuit-breaker/fastify')
    const app = Fastify({ logger: false })
    if (v === 'noop')
      app.addHook('onRequest', (_r, _p, done) => {
        done()
      })
    if (v === 'full' || v === 'idsonly')
      await app.register(fastifyBreakerPlugin, { registry, ...opts })
    app.get<{ Params: { symbol: string } }>('/api/quotes/:symbol', (r) => ({
      symbol: r.params.symbol,
      price: 101.25,
    }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as { port: number }).port
  }
  process.stdout.write(`${port}\n`)
} else {
  await runRatioBench({
    file: fileURLToPath(import.meta.url),
    frameworks: (process.env.FW ?? 'hono,fastify').split(','),
    variants: [
      { name: 'bare', label: 'bare', path: '/api/quotes/ACME' },
      { name: 'noop', label: 'no-op middleware/hook', path: '/api/quotes/ACME', target: 0.9 },
      { name: 'idsonly', label: 'ours, breaker: false', path: '/api/quotes/ACME', target: 0.9 },
      { name: 'full', label: 'ours, full', path: '/api/quotes/ACME', target: 0.9 },
    ],
  })
}
