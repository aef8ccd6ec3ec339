// The Express probe fast path (attachHealth): /health/live/ answered from the http.Server's
// 'request' event, before Express, as a ratio to a bare Express route returning the same JSON
// in the same app (target >= 3), beside the same path through createExpressHealthHandler.
// How the ratios are measured: see bench/lib/ratio.ts.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { runRatioBench } from '../../../bench/lib/ratio.js'

const BODY = JSON.stringify({ status: 'alive' })
const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }

async function serve(variant: string): Promise<number> {
  const { attachHealth, createHealth } = await import('@scanner/health')
  const { createExpressHealthHandler } = await import('@scanner/health/express')
  const { default: express } = await import('express')
  const health = createHealth({ service: 'bench', version: '1.0.0' })
  const app = express()
  app.get('/bare', (_req, res) => {
    res.writeHead(200, HEADERS).end(BODY)
  })
  app.use(createExpressHealthHandler(health))
  const server = createServer(app)
  if (variant === 'fast') attachHealth(server, health)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

if (process.argv[2] === 'serve') {
  const port = await serve(process.argv[4] ?? '')
  process.stdout.write(`${port}\n`)
} else {
  await runRatioBench({
    file: fileURLToPath(import.meta.url),
    frameworks: ['express'],
    variants: [
      { name: 'bare', label: '/bare (Express route)', path: '/bare' },
      { name: 'adapter', label: '/health/live/ (Express adapter)', path: '/health/live/' },
      { name: 'fast', label: '/health/live/ (attachHealth)', path: '/health/live/', target: 3 },
    ],
  })
}
