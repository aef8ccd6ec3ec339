/**
 * A rolling restart behind a real load balancer: Debian's HAProxy with `retries 0` (it hides
 * nothing) and `option httpchk GET /health/ready/` every second, in front of two instances of
 * each example started with their default settings (production mode: the default drain).
 * Under steady keep-alive load, one instance of each gets SIGTERM; no request may fail.
 *
 * Needs `haproxy` (`apt-get install haproxy`; `.ci/run` installs it). Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { findExecutable } from '@scanner/tunnel'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PRODUCTION_DRAIN_DELAY_MS } from '../src/config.js'
import { startExample, type RunningExample } from '../src/testing.js'
import { EXAMPLES, defaultEnvironment, eventually, exampleDir, get } from './drain-helpers.js'

type Example = (typeof EXAMPLES)[number]

/** At most this many requests per second per example, over `CONNECTIONS` keep-alive connections. */
const RATE = 150
const CONNECTIONS = 6
/** Hard bound on the requests one load run sends. */
const MAX_REQUESTS = 20_000

function findHaproxy(): string {
  const path = [process.env.PATH ?? '', '/usr/sbin', '/usr/local/sbin'].join(delimiter)
  const found = findExecutable(process.env.HAPROXY_BIN ?? 'haproxy', { PATH: path })
  if (found === undefined) {
    throw new Error(
      "haproxy not found (PATH, /usr/sbin, HAPROXY_BIN): install Debian's haproxy with `apt-get install haproxy`; .ci/run installs it before the tests",
    )
  }
  return found
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

function haproxyConfig(
  frontends: readonly { name: Example; port: number; backends: readonly string[] }[],
): string {
  const lines = [
    'global',
    '  log stdout format raw local0 info',
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  option dontlog-normal', // log failed requests only
    '  option log-health-checks',
    '  retries 0',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout http-keep-alive 30s',
    // A check may take longer than its 1 s interval on a loaded CI machine.
    '  timeout check 3s',
  ]
  for (const { name, port, backends } of frontends) {
    lines.push(
      `frontend fe_${name}`,
      `  bind 127.0.0.1:${String(port)}`,
      `  default_backend be_${name}`,
      `backend be_${name}`,
      '  option httpchk GET /health/ready/',
      '  default-server inter 1s fall 3 rise 2',
      '  http-response set-header X-Served-By %[srv_name]',
      ...backends.map(
        (url, index) => `  server s${String(index)} ${url.replace('http://', '')} check`,
      ),
    )
  }
  return `${lines.join('\n')}\n`
}

interface LoadResult {
  readonly sent: number
  readonly failed: number
  readonly failures: readonly string[]
  readonly latenciesMs: readonly number[]
  /** Responses per server (`X-Served-By`), before and after `mark()`. */
  readonly servedBefore: Readonly<Record<string, number>>
  readonly servedAfter: Readonly<Record<string, number>>
}

/** Steady keep-alive load: `RATE` requests per second until `stop()` (or `MAX_REQUESTS`). */
function startLoad(url: string): {
  mark(): void
  served(): Readonly<Record<string, number>>
  stop(): Promise<LoadResult>
} {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  const latenciesMs: number[] = []
  const failures: string[] = []
  const servedBefore: Record<string, number> = {}
  const servedAfter: Record<string, number> = {}
  let served = servedBefore
  let sent = 0
  let failed = 0
  let stopping = false
  const interval = (1000 * CONNECTIONS) / RATE
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const started = performance.now()
      sent++
      const fail = (reason: string): void => {
        failed++
        if (failures.length < 20) failures.push(reason)
        resolve()
      }
      const req = request(`${url}/api/quotes/NVDA`, { agent }, (res) => {
        res.resume()
        res.once('error', (error) => {
          fail(`response: ${error.message}`)
        })
        res.once('end', () => {
          latenciesMs.push(performance.now() - started)
          const server = String(res.headers['x-served-by'])
          served[server] = (served[server] ?? 0) + 1
          if (res.statusCode === 200) resolve()
          else fail(`HTTP ${String(res.statusCode)} from ${server}`)
        })
      })
      req.once('error', (error) => {
        fail(`request: ${error.message}`)
      })
      req.end()
    })
  const loop = async (): Promise<void> => {
    while (!stopping && sent < MAX_REQUESTS) {
      const started = performance.now()
      await one()
      const wait = interval - (performance.now() - started)
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
  const loops = Array.from({ length: CONNECTIONS }, loop)
  return {
    mark() {
      served = servedAfter
    },
    served() {
      return served
    },
    async stop() {
      stopping = true
      await Promise.all(loops)
      agent.destroy()
      return { sent, failed, failures, latenciesMs, servedBefore, servedAfter }
    },
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

describe('rolling restart behind HAProxy (retries 0, httpchk /health/ready/ every second)', () => {
  const instances = new Map<Example, RunningExample[]>()
  /** Every started instance, for the clean-up even when its sibling failed to start. */
  const all: RunningExample[] = []
  const frontendPorts = new Map<Example, number>()
  let haproxy: ChildProcess | undefined
  let haproxyLog = ''
  /** When HAProxy logged the first instance of each example DOWN. */
  const downAt = new Map<Example, number>()
  let dir: string | undefined

  /** Why the set-up failed (haproxy missing, a server that did not start): each test fails with it. */
  let setupError: Error | undefined

  async function setUp(): Promise<void> {
    const bin = findHaproxy()
    // Two instances of each example, default settings: production mode, no tunnel, no DNS.
    await Promise.all(
      EXAMPLES.map(async (name) => {
        const started = await Promise.all(
          [0, 1].map(async () => {
            const example = await startExample({
              cwd: exampleDir(name),
              // Warnings only: request logs would cost the servers more than the load.
              env: defaultEnvironment({ TUNNEL: 'off', LOG_LEVEL: 'warn' }),
              timeoutMs: 90_000,
            })
            all.push(example)
            return example
          }),
        )
        instances.set(name, started)
        frontendPorts.set(name, await freePort())
      }),
    )
    dir = mkdtempSync(join(tmpdir(), 'scanner-haproxy-'))
    const config = join(dir, 'haproxy.cfg')
    writeFileSync(
      config,
      haproxyConfig(
        EXAMPLES.map((name) => ({
          name,
          port: frontendPorts.get(name) ?? 0,
          backends: (instances.get(name) ?? []).map((example) => example.url),
        })),
      ),
    )
    haproxy = spawn(bin, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] })
    const collect = (chunk: Buffer): void => {
      if (haproxyLog.length < 1_000_000) haproxyLog += chunk.toString('utf8')
      for (const name of EXAMPLES) {
        if (!downAt.has(name) && haproxyLog.includes(`Server be_${name}/s0 is DOWN`)) {
          downAt.set(name, performance.now())
        }
      }
    }
    haproxy.stdout?.on('data', collect)
    haproxy.stderr?.on('data', collect)
    // Every backend server passes its checks (rise 2) and the frontends answer.
    await eventually(async () => {
      expect(haproxy?.exitCode, haproxyLog).toBeNull()
      for (const name of EXAMPLES) {
        const port = frontendPorts.get(name) ?? 0
        expect((await get(`http://127.0.0.1:${String(port)}/api/quotes/NVDA`, false)).status).toBe(
          200,
        )
      }
    }, 60_000)
  }

  beforeAll(async () => {
    try {
      await setUp()
    } catch (error) {
      setupError = error instanceof Error ? error : new Error(String(error))
    }
  }, 180_000)

  afterAll(() => {
    for (const example of all) example.kill()
    haproxy?.kill('SIGKILL')
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it.concurrent.each(EXAMPLES)(
    '%s: SIGTERM to one of two instances under load, 0 failed requests',
    async (name) => {
      if (setupError !== undefined) throw setupError
      const [victim] = instances.get(name) ?? []
      if (victim === undefined) throw new Error(`${name} did not start`)
      const load = startLoad(`http://127.0.0.1:${String(frontendPorts.get(name))}`)
      // Steady load on both instances for a moment (on a loaded machine HAProxy may still be
      // bringing the second one up), then the SIGTERM.
      await eventually(() => {
        expect(load.served().s0 ?? 0).toBeGreaterThan(10)
        expect(load.served().s1 ?? 0).toBeGreaterThan(10)
        return Promise.resolve()
      }, 60_000)
      load.mark()
      const signalled = performance.now()
      victim.child.kill('SIGTERM')
      const code = await victim.stop(null, 60_000)
      const drainMs = performance.now() - signalled
      // The balancer took the instance out before its listener closed.
      const down = downAt.get(name)
      // Keep the load on for another second: a closed listener would show now.
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const result = await load.stop()
      console.log(
        `${name}: ${String(result.sent)} requests, ${String(result.failed)} failed, p99 ${percentile(result.latenciesMs, 99).toFixed(1)} ms, max ${percentile(result.latenciesMs, 100).toFixed(1)} ms; SIGTERM to HAProxy DOWN ${down === undefined ? '-' : String(Math.round(down - signalled))} ms, to exit ${String(Math.round(drainMs))} ms (exit ${String(code)}); served before ${JSON.stringify(result.servedBefore)}, after ${JSON.stringify(result.servedAfter)}`,
      )
      expect(result.failures, haproxyLog).toEqual([])
      expect(result.failed).toBe(0)
      expect(code, victim.output()).toBe(0)
      expect(down, haproxyLog).toBeDefined()
      // The load reached both instances before the SIGTERM; after it, the draining instance
      // kept serving until the balancer took it out, and the survivor took over.
      expect(result.servedBefore.s0).toBeGreaterThan(0)
      expect(result.servedBefore.s1).toBeGreaterThan(0)
      expect(result.servedAfter.s0).toBeGreaterThan(0)
      expect(result.servedAfter.s1).toBeGreaterThan(0)
      // The default drain applied (production mode), not an immediate close.
      expect(drainMs).toBeGreaterThan(PRODUCTION_DRAIN_DELAY_MS - 100)
    },
    120_000,
  )
})
