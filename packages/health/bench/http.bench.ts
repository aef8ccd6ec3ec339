// Throughput of the health endpoints per framework, as ratios to a bare route returning the
// same JSON ({"status":"alive"}, same headers) in the same app, measured in the same run:
//   /health/live/      liveness                                  (target >= 0.97)
//   /health/detailed/  three checks, results cached (1 s TTL)    (target >= 0.95)
// and, on Hono, the bare route through c.body() with the same headers: the floor of any handler
// that keeps the headers middleware set (the health routes must).
// How the ratios are measured (each route in its own server process, loaded at the same time
// as the bare route's, both sharing one CPU): see bench/lib/ratio.ts.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { listenOnLoopback, runRatioBench } from '../../../bench/lib/ratio.js'

/** `hono` runs on @hono/node-server 1.19, `hono-v2` on @hono/node-server 2. */
type Framework = 'express' | 'fastify' | 'hono' | 'hono-v2'
const FRAMEWORKS: readonly Framework[] = ['express', 'fastify', 'hono', 'hono-v2']
const BODY = JSON.stringify({ status: 'alive' })
const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }

async function serve(framework: Framework): Promise<number> {
  const { createHealth, databaseCheck, systemCheck } = await import('@scanner/health')
  const health = createHealth({
    service: 'bench',
    version: '1.0.0',
    checks: [
      databaseCheck({ ping: () => Promise.resolve() }),
      { name: 'tunnel', critical: false, run: () => ({ state: 'running', connections: 4 }) },
      systemCheck(),
    ],
  })
  let handler: (req: IncomingMessage, res: ServerResponse) => void
  if (framework === 'express') {
    const { default: express } = await import('express')
    const { createExpressHealthHandler } = await import('@scanner/health/express')
    const app = express()
    // `/bare-context` is Hono's floor below; here it is the bare route again.
    app.get(['/bare', '/bare-context'], (_req, res) => {
      res.writeHead(200, HEADERS).end(BODY)
    })
    app.use(createExpressHealthHandler(health))
    handler = app
  } else if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const { fastifyHealthPlugin } = await import('@scanner/health/fastify')
    const app = Fastify({ logger: false })
    for (const path of ['/bare', '/bare-context']) {
      app.get(path, (_request, reply) => reply.code(200).headers(HEADERS).send(BODY))
    }
    await app.register(fastifyHealthPlugin, { health })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return (app.server.address() as AddressInfo).port
  } else {
    const { Hono } = await import('hono')
    const { createHonoHealthApp } = await import('@scanner/health/hono')
    const app = new Hono()
    app.get('/bare', () => new Response(BODY, { headers: HEADERS }))
    // What any Hono handler pays to keep headers set by middleware: c.body() builds a Fetch
    // Headers for more than one header, which @hono/node-server then reads back into a record
    // (bench/upstream/README.md).
    app.get('/bare-context', (c) => c.body(BODY, 200, HEADERS))
    app.route('/', createHonoHealthApp(health))
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
  // Every variant is the same app (bare route and health routes); only the loaded path differs.
  const port = await serve(process.argv[3] as Framework)
  process.stdout.write(`${port}\n`)
} else {
  await runRatioBench({
    file: fileURLToPath(import.meta.url),
    frameworks: FRAMEWORKS,
    variants: [
      { name: 'bare', label: '/bare', path: '/bare' },
      {
        name: 'live',
        label: '/health/live/',
        path: '/health/live/',
        target: 0.97,
        floors: [{ name: 'context', target: 0.97 }],
      },
      {
        name: 'detailed',
        label: '/health/detailed/ (3 checks)',
        path: '/health/detailed/',
        target: 0.95,
      },
      {
        name: 'context',
        label: 'floor: /bare through c.body() (Hono)',
        path: '/bare-context',
      },
    ],
  })
}
