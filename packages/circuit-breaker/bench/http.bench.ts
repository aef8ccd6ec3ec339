// Throughput of the breaker + error middleware per framework, as ratios to the bare route
// measured in the same run. Servers run in a child process on 127.0.0.1; autocannon loads
// them from this process.
//   bare:    the route alone
//   breaker: request IDs + route breaker + error handler, healthy route  (target >= 0.90)
//   open:    the same with the route's breaker open: 503 without the handler (target >= 1.0)
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import type { Request, Response } from 'express'

type Framework = 'express' | 'fastify' | 'hono'
type Mode = 'bare' | 'breaker' | 'open'
const FRAMEWORKS: readonly Framework[] = ['express', 'fastify', 'hono']
const MODES: readonly Mode[] = ['bare', 'breaker', 'open']
const PATTERN = '/api/quotes/:symbol'
const DURATION_S = 1.5
const ROUNDS = 5

async function serve(framework: Framework, mode: Mode): Promise<number> {
  const { createBreakerRegistry } = await import('@scanner/circuit-breaker')
  const registry = createBreakerRegistry({ volumeThreshold: 1, resetTimeoutMs: 3_600_000 })
  const protect = mode !== 'bare'
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
    if (protect) app.get(PATTERN, cb.middleware, route)
    else app.get(PATTERN, route)
    if (protect) app.use(cb.errorHandler)
    handler = app
  } else if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const { fastifyBreakerPlugin } = await import('@scanner/circuit-breaker/fastify')
    const app = Fastify({ logger: false })
    if (protect) await app.register(fastifyBreakerPlugin, { registry })
    app.get<{ Params: { symbol: string } }>(PATTERN, (request) => quote(request.params.symbol))
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
    app.get(PATTERN, (c) => c.json(quote(c.req.param('symbol'))))
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

async function startChild(framework: Framework, mode: Mode): Promise<[ChildProcess, number]> {
  // `pnpm bench` pins the load generator (this process) and the server to different CPUs
  // when it can (BENCH_SERVER_CPUS), so that they do not compete for one.
  const args = [...process.execArgv, fileURLToPath(import.meta.url), 'serve', framework, mode]
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

function load(port: number, duration: number): Promise<autocannon.Result> {
  return autocannon({
    url: `http://127.0.0.1:${port}/api/quotes/ACME`,
    connections: 32,
    duration,
  })
}

async function main(): Promise<void> {
  console.log(
    `autocannon: 32 connections, ${DURATION_S} s per run, ${ROUNDS} interleaved rounds, ` +
      'median per mode, 127.0.0.1 only',
  )
  for (const framework of FRAMEWORKS) {
    // One server per mode, all alive for the whole framework; modes are loaded in turn and
    // the median taken, so drifting machine load hits every mode alike.
    const servers = await Promise.all(MODES.map((mode) => startChild(framework, mode)))
    try {
      const samples: Record<Mode, number[]> = { bare: [], breaker: [], open: [] }
      let openNon2xx = 0
      for (const [, port] of servers) await load(port, 1) // warm-up; trips the open breaker
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, mode] of MODES.entries()) {
          const result = await load(servers[i]![1], DURATION_S)
          samples[mode].push(result.requests.average)
          if (mode === 'open') openNon2xx += result.non2xx
        }
      }
      const median = (values: number[]): number =>
        [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
      const bare = median(samples.bare)
      const line = (label: string, rps: number, target?: number): string => {
        const ratio = rps / bare
        const verdict =
          target === undefined
            ? ''
            : ratio >= target
              ? ` (target >= ${target.toFixed(2)}: met)`
              : ` (target >= ${target.toFixed(2)}: missed)`
        return `  ${label.padEnd(28)} ${rps.toFixed(0).padStart(7)} req/s  ratio ${ratio.toFixed(2)}${verdict}`
      }
      console.log(`${framework}:`)
      console.log(line('bare route', bare))
      console.log(line('breaker + errors, healthy', median(samples.breaker), 0.9))
      console.log(line('open circuit (503)', median(samples.open), 1.0))
      console.log(`  open-circuit responses that were 503/non-2xx: ${openNon2xx}`)
    } finally {
      for (const [child] of servers) child.kill()
    }
  }
}

if (process.argv[2] === 'serve') {
  const port = await serve(process.argv[3] as Framework, process.argv[4] as Mode)
  process.stdout.write(`${port}\n`)
} else {
  await main()
}
