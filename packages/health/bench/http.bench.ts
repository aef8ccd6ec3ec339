// Throughput of the health endpoints per framework, as ratios to a bare route returning the
// same JSON ({"status":"alive"}, same headers) on the same server, measured in the same run.
// One server per framework runs in a child process on 127.0.0.1; autocannon loads it from
// this process. Each round measures the three routes back to back in short slices (rotating
// the order); a route's ratio is the median over rounds of its throughput divided by the bare
// route's in the same round, which keeps the figure meaningful on a busy machine.
//   /health/live/      liveness                                  (target >= 0.95)
//   /health/detailed/  three checks, results cached (1 s TTL)    (target >= 0.90)
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

type Framework = 'express' | 'fastify' | 'hono'
type Route = 'bare' | 'live' | 'detailed'
const FRAMEWORKS: readonly Framework[] = ['express', 'fastify', 'hono']
const ROUTES: readonly Route[] = ['bare', 'live', 'detailed']
const PATHS: Readonly<Record<Route, string>> = {
  bare: '/bare',
  live: '/health/live/',
  detailed: '/health/detailed/',
}
const TARGETS: Readonly<Record<Route, number | undefined>> = {
  bare: undefined,
  live: 0.95,
  detailed: 0.9,
}
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 1)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const CONNECTIONS = 32
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
    app.get('/bare', (_req, res) => {
      res.writeHead(200, HEADERS).end(BODY)
    })
    app.use(createExpressHealthHandler(health))
    handler = app
  } else if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const { fastifyHealthPlugin } = await import('@scanner/health/fastify')
    const app = Fastify({ logger: false })
    app.get('/bare', (_request, reply) => reply.code(200).headers(HEADERS).send(BODY))
    await app.register(fastifyHealthPlugin, { health })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return (app.server.address() as AddressInfo).port
  } else {
    const { Hono } = await import('hono')
    const { createHonoHealthApp } = await import('@scanner/health/hono')
    const app = new Hono()
    app.get('/bare', () => new Response(BODY, { headers: HEADERS }))
    app.route('/', createHonoHealthApp(health))
    const { getRequestListener } = await import('@hono/node-server')
    const listener = getRequestListener(app.fetch)
    handler = (req, res) => {
      void listener(req, res)
    }
  }
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

async function startChild(framework: Framework): Promise<[ChildProcess, number]> {
  // `pnpm bench` pins the load generator (this process) and the server to different CPUs
  // when it can (BENCH_SERVER_CPUS), so that they do not compete for one.
  const args = [...process.execArgv, fileURLToPath(import.meta.url), 'serve', framework]
  const cpus = process.env.BENCH_SERVER_CPUS
  const child = cpus
    ? spawn('taskset', ['-c', cpus, process.execPath, ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`server exited with ${String(code)}`))
    })
    child.stdout?.once('data', (chunk: Buffer) => {
      resolve(Number(chunk.toString().trim()))
    })
  })
  return [child, port]
}

async function load(port: number, route: Route, duration: number): Promise<autocannon.Result> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${PATHS[route]}`,
    connections: CONNECTIONS,
    duration,
  })
  if (result.non2xx > 0) throw new Error(`${route}: ${result.non2xx} responses were not 2xx`)
  return result
}

async function main(): Promise<void> {
  console.log(
    `autocannon: ${CONNECTIONS} connections, ${DURATION_S} s per slice, ${ROUNDS} rounds, 127.0.0.1 only; ratio = median of per-round ratios to /bare`,
  )
  let missed = 0
  for (const framework of FRAMEWORKS) {
    const [child, port] = await startChild(framework)
    const rounds: Record<Route, number>[] = []
    try {
      for (const route of ROUTES) await load(port, route, 2) // warm-up
      for (let round = 0; round < ROUNDS; round++) {
        const figures = { bare: 0, live: 0, detailed: 0 }
        // Rotate the order so no route always runs first or last.
        for (let i = 0; i < ROUTES.length; i++) {
          const route = ROUTES[(i + round) % ROUTES.length]!
          figures[route] = (await load(port, route, DURATION_S)).requests.average
        }
        rounds.push(figures)
      }
    } finally {
      child.kill()
    }
    const median = (values: number[]): number => {
      const sorted = [...values].sort((a, b) => a - b)
      const mid = Math.floor(sorted.length / 2)
      return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
    }
    console.log(`${framework}:`)
    for (const route of ROUTES) {
      const rps = median(rounds.map((r) => r[route]))
      const ratio = median(rounds.map((r) => r[route] / r.bare))
      const target = TARGETS[route]
      let verdict = ''
      if (target !== undefined) {
        verdict = ratio >= target ? ` (target >= ${target}: met)` : ` (target >= ${target}: MISSED)`
        if (ratio < target) missed++
      }
      console.log(
        `  ${PATHS[route].padEnd(20)} ${rps.toFixed(0).padStart(7)} req/s (median)  ratio ${ratio.toFixed(2)}${verdict}`,
      )
    }
  }
  if (missed > 0) console.log(`${missed} target(s) missed`)
}

if (process.argv[2] === 'serve') {
  const port = await serve(process.argv[3] as Framework)
  process.stdout.write(`${port}\n`)
} else {
  await main()
}
