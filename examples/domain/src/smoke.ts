/**
 * The smoke suite every example API runs (`test/smoke.test.ts`): starts the server as a real
 * child process on port 0 with the cloudflared simulator and a loopback DNS server, checks
 * every endpoint family, opens a circuit breaker, then stops it with SIGTERM.
 *
 * @module @scanner-examples/domain/smoke
 */
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  commandLine,
  descendants,
  isAlive,
  startExample,
  startLoopbackDns,
  type RunningExample,
} from './testing.js'

/** Environment of a smoke run: port 0, the simulator, DNS on loopback only, JSON logs. */
export function smokeEnvironment(dnsAddress: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => key !== 'TUNNEL_TOKEN' && key !== 'CLOUDFLARED_BIN' && !key.startsWith('FAKE_'),
    ),
  )
  return {
    ...env,
    HOST: '127.0.0.1',
    PORT: '0',
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: '0',
    TUNNEL: 'simulator',
    DNS_CHECK: 'on',
    DNS_NAMES: 'region1.v2.argotunnel.com',
    DNS_FALLBACKS: dnsAddress,
    DNS_SYSTEM_SERVERS: dnsAddress,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    FEED_MODE: 'ok',
    DRAIN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '15000',
    NODE_ENV: 'production',
  }
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>
}

/** Polls `fn` until it stops throwing. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await fn()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/** Runs an example until it exits (it must: these settings stop it), with its output. */
function runToExit(
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@scanner/source', '--import', 'tsx', 'src/server.ts'],
      { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`still running after 60 s:\n${stdout}\n${stderr}`))
    }, 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** A TCP listener on 127.0.0.1 that holds a port, so that an example finds it busy. */
function holdPort(): Promise<{ port: number; server: Server }> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve({ port: typeof address === 'object' && address !== null ? address.port : 0, server })
    })
  })
}

/**
 * Declares the start-up failure suite of one example: a bad setting or a busy port ends the
 * process with exit code 1 and one line on stderr that names the setting or the port, no stack.
 */
export function describeStartupFailures(name: string, cwd: string): void {
  describe(`${name} start-up failures`, () => {
    const base = (): NodeJS.ProcessEnv => ({
      ...smokeEnvironment('127.0.0.1:53'),
      TUNNEL: 'off',
      DNS_CHECK: 'off',
    })
    const expectOneLine = (stderr: string, ...parts: string[]): void => {
      const lines = stderr.split('\n').filter((line) => line.trim() !== '')
      expect(lines, stderr).toHaveLength(1)
      for (const part of parts) expect(lines[0], stderr).toContain(part)
      expect(stderr).not.toMatch(/^\s+at /m)
    }

    it.each([
      ['PORT', 'abc', 'Invalid setting PORT: expected an integer between 0 and 65535, got "abc"'],
      ['ADMIN_PORT', '70000', 'Invalid setting ADMIN_PORT'],
      ['LOG_LEVEL', 'loud', 'Invalid setting LOG_LEVEL'],
    ])('%s=%s: one line naming it, exit 1', async (setting, value, line) => {
      const run = await runToExit(cwd, { ...base(), [setting]: value })
      expect(run.code, run.stderr).toBe(1)
      expectOneLine(run.stderr, line)
    })

    it.each(['PORT', 'ADMIN_PORT'])(
      'a busy %s: one line naming it and the port, exit 1',
      async (setting) => {
        const held = await holdPort()
        try {
          const run = await runToExit(cwd, { ...base(), [setting]: String(held.port) })
          expect(run.code, run.stderr).toBe(1)
          expectOneLine(run.stderr, `127.0.0.1:${held.port}`, setting, 'EADDRINUSE')
        } finally {
          held.server.close()
        }
      },
    )
  })
}

/**
 * Declares the smoke suite of one example.
 *
 * @example
 * ```ts
 * describeExampleSmoke('express-api', new URL('..', import.meta.url).pathname)
 * ```
 */
export function describeExampleSmoke(name: string, cwd: string): void {
  describe(`${name} smoke`, () => {
    let server: RunningExample
    let operatorUrl = ''
    let dns: Awaited<ReturnType<typeof startLoopbackDns>>
    let simulatorPids: number[] = []

    beforeAll(async () => {
      dns = await startLoopbackDns()
      server = await startExample({ cwd, env: smokeEnvironment(dns.address) })
      const match = await server.waitForOutput(/Operator port .* on (http:\/\/\S+)/)
      operatorUrl = match[1] ?? ''
    }, 60_000) // a loaded machine: tsx compiles the server first
    afterAll(async () => {
      server?.kill()
      await dns?.close()
    })

    const get = (path: string, init?: RequestInit): Promise<Response> =>
      fetch(server.url + path, init)
    const operator = (path: string, init?: RequestInit): Promise<Response> =>
      fetch(operatorUrl + path, init)

    it('prints its URL, says it supervises the simulator, and prints the URLs to try', async () => {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      await server.waitForOutput(/supervising the cloudflared simulator/)
      await server.waitForOutput(new RegExp(`${server.url}/health/detailed/`))
    })

    it('serves the four health endpoints', async () => {
      const live = await get('/health/live/')
      expect(live.status).toBe(200)
      expect(live.headers.get('cache-control')).toContain('no-store')
      expect(live.headers.get('content-length')).toBe('18')
      expect(live.headers.get('x-request-id')).toMatch(/\S{8,}/)

      const basic = await get('/health/')
      expect(basic.status).toBe(200)
      expect(await json(basic)).toMatchObject({ service: 'scanner-api', version: '1.0.0' })

      // The tunnel starts in the background: wait for readiness and a running tunnel.
      const detailed = await eventually(async () => {
        const response = await get('/health/detailed/')
        const body = await json(response)
        const components = body.components as Record<string, Record<string, unknown>>
        expect(components.tunnel?.status).toBe('healthy')
        return { response, components }
      }, 15_000)
      expect(Object.keys(detailed.components)).toEqual(
        expect.arrayContaining(['database', 'system', 'dns', 'tunnel']),
      )
      expect(detailed.components.database?.status).toBe('healthy')
      expect(detailed.components.dns?.status).toBe('healthy')

      const ready = await eventually(async () => {
        const response = await get('/health/ready/')
        expect(response.status).toBe(200)
        return response
      })
      expect(ready.status).toBe(200)
      expect(dns.queries()).toBeGreaterThan(0) // the DNS monitor used the loopback server

      simulatorPids = descendants(server.child.pid ?? -1).filter((pid) =>
        (commandLine(pid) ?? '').includes('cloudflared'),
      )
      expect(simulatorPids.length).toBeGreaterThan(0)
    })

    it('answers the API routes from the database', async () => {
      const tickers = await get('/api/tickers')
      expect(tickers.status).toBe(200)
      expect(await json(tickers)).toMatchObject({ count: 8 })

      const quote = await get('/api/quotes/nvda')
      expect(quote.status).toBe(200)
      expect(await json(quote)).toMatchObject({ symbol: 'NVDA', price: 138.25, currency: 'USD' })

      const scan = await get('/api/scan?minChangePct=2&sort=change')
      const body = await json(scan)
      expect((body.results as { symbol: string }[]).map((q) => q.symbol)).toEqual(['NVDA', 'AMZN'])

      const missing = await get('/api/quotes/ZZZZ')
      expect(missing.status).toBe(404)
      expect(missing.headers.get('content-type')).toContain('application/problem+json')
      expect(await json(missing)).toMatchObject({
        status: 404,
        code: 'ERR_DOMAIN_NOT_FOUND',
        detail: 'Unknown symbol "ZZZZ"',
      })
      const bad = await get('/api/scan?limit=0')
      expect(bad.status).toBe(400)
      const badBody = await json(bad)
      expect(badBody.status).toBe(400)
      expect(String(badBody.detail)).toContain('"limit"')

      const feed = await get('/api/feed/NVDA')
      expect(feed.status).toBe(200)
      expect(await json(feed)).toMatchObject({ symbol: 'NVDA', source: 'upstream-feed' })
    })

    it('serves metrics and fault injection on the operator port only, on loopback', async () => {
      expect(operatorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(operatorUrl).not.toBe(server.url)
      const response = await operator('/metrics')
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toContain('text/plain')
      const text = await response.text()
      expect(text).toContain('process_cpu_user_seconds_total')
      expect(text).toMatch(/^scanner_\w+/m)
      // The public app serves neither, whatever the method.
      for (const path of ['/metrics', '/metrics/', '/api/feed/mode']) {
        for (const method of ['GET', 'POST']) {
          const res = await get(path, {
            method,
            headers: { 'content-type': 'application/json' },
            ...(method === 'POST' ? { body: '{"mode":"fail"}' } : {}),
          })
          expect(res.status, `${method} ${path}`).toBe(404)
          expect(await res.text()).not.toContain('process_cpu_user_seconds_total')
        }
      }
      const mode = await operator('/api/feed/mode')
      expect(await json(mode)).toEqual({ mode: 'ok' })
      const bad = await operator('/api/feed/mode', { method: 'POST', body: '{"mode":' })
      expect(bad.status).toBe(400)
      const unknown = await operator('/api/feed/mode', {
        method: 'POST',
        body: '{"mode":"broken"}',
      })
      expect(unknown.status).toBe(400)
      // Details on the operator port even for a request that came through a proxy.
      const detailed = await json(
        await operator('/health/detailed/', { headers: { 'cf-ray': '230b030023ae2822-SJC' } }),
      )
      expect(detailed.components).toBeDefined()
      const proxied = await json(
        await get('/health/detailed/', { headers: { 'cf-ray': '230b030023ae2822-SJC' } }),
      )
      expect(proxied.components).toBeUndefined()
    })

    it('gives a failing upstream an error ID, then opens its breaker only', async () => {
      const mode = await operator('/api/feed/mode', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'fail' }),
      })
      expect(mode.status).toBe(200)
      expect(await json(mode)).toEqual({ mode: 'fail' })

      const failed = await get('/api/feed/NVDA')
      expect(failed.status).toBe(502)
      expect(failed.headers.get('content-type')).toContain('application/problem+json')
      const errorId = failed.headers.get('x-error-id')
      expect(errorId).toMatch(/^err_[0-9A-Z]{26}$/)
      const failedBody = await failed.text()
      expect(failedBody).toContain(errorId)
      expect(failedBody).not.toMatch(/at .*\.ts:\d+/) // no stack trace
      expect(failedBody).not.toContain('upstream answered') // nor the internal message
      await eventually(() => {
        expect(server.output()).toContain(errorId ?? '-') // and in the log line
        return Promise.resolve()
      }, 3000)

      let open: Response | undefined
      for (let i = 0; i < 30 && open === undefined; i++) {
        const response = await get('/api/feed/NVDA')
        if (response.status === 503) open = response
        else await response.arrayBuffer()
      }
      if (open === undefined) throw new Error('the breaker of GET /api/feed/:symbol never opened')
      expect(open.headers.get('content-type')).toContain('application/problem+json')
      expect(Number(open.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(open.headers.get('x-error-id')).toMatch(/^err_/)
      expect(await json(open)).toMatchObject({ status: 503 })

      // Other routes keep working, and health reports the open breaker as degraded.
      expect((await get('/api/quotes/AAPL')).status).toBe(200)
      await eventually(async () => {
        const detailed = await json(await get('/health/detailed/'))
        const components = detailed.components as Record<string, { status?: string }>
        const degraded = Object.values(components).filter((c) => c.status === 'degraded')
        expect(degraded.length).toBeGreaterThan(0)
      }, 5000)
      expect((await get('/health/ready/')).status).toBe(200) // non-critical: still ready
    })

    it('stops on SIGTERM: drains, stops the tunnel, closes, exits 0, leaves nothing', async () => {
      const code = await server.stop('SIGTERM')
      const output = server.output()
      expect(code, output).toBe(0)
      const order = ['drain readiness', 'stop tunnel', 'close server'].map((step) =>
        output.indexOf(`shutdown: ${step} done`),
      )
      expect(
        order.every((index) => index >= 0),
        output,
      ).toBe(true)
      expect([...order].sort((a, b) => a - b)).toEqual(order)
      for (const pid of simulatorPids) expect(isAlive(pid), `simulator ${pid}`).toBe(false)
    })
  })
}
