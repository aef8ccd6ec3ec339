import { request } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  fakeCloudflaredEnv,
  fakeCloudflaredPath,
  fakeCloudflaredToken,
} from '@scanner/tunnel/testing'
import type { WatchdogStatus } from '../../src/cli/commands/run.js'
import {
  dnsSection,
  freePort,
  runCli,
  spawnCli,
  startDns,
  tempDir,
  waitExit,
  waitFor,
} from './helpers.js'
import type { CliProcess, LoopbackDns } from './helpers.js'

const TOKEN = fakeCloudflaredToken({ secret: 'page-test-secret-do-not-log' })

const ORIGIN_SCRIPT = `
const http = require('node:http')
const server = http.createServer((req, res) => res.end('ok'))
server.listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', () => server.close(() => process.exit(0)))
`

let dir: string
let cleanup: () => void
let dns: LoopbackDns
let child: CliProcess
let base: string

function statusUrl(c: CliProcess): string | undefined {
  for (const line of c.out.split('\n')) {
    if (!line.includes('status endpoint listening')) continue
    try {
      return (JSON.parse(line) as { url: string }).url
    } catch {
      // partial line
    }
  }
  return undefined
}

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  const url = new URL(path, base)
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
    })
      .on('error', reject)
      .end()
  })
}

beforeAll(async () => {
  ;({ dir, cleanup } = tempDir())
  dns = await startDns('ok')
  const originScript = join(dir, 'origin.cjs')
  writeFileSync(originScript, ORIGIN_SCRIPT)
  const originPort = await freePort()
  const file = join(dir, 'watchdog.yaml')
  writeFileSync(
    file,
    [
      'tunnel:',
      `  bin: ${fakeCloudflaredPath}`,
      '  gracePeriodMs: 500',
      '  readyTimeoutMs: 20000',
      '  backoff: { initialDelayMs: 100, maxDelayMs: 200, jitter: none }',
      'origin:',
      `  command: ["${process.execPath}", "${originScript}"]`,
      `  env: { PORT: "${originPort}" }`,
      ...dnsSection(dns.address, dns.address, ['intervalMs: 1000', 'timeoutMs: 500']),
      'status:',
      '  listen: 127.0.0.1:0',
      '',
    ].join('\n'),
  )
  child = spawnCli(['run', '--config', file], {
    ...fakeCloudflaredEnv('normal'),
    TUNNEL_TOKEN: TOKEN,
  })
  base = (await waitFor('the status endpoint', () => statusUrl(child), 30_000)).replace(
    /\/status$/,
    '',
  )
  await waitFor(
    'the tunnel, the origin and DNS to be up',
    async () => {
      const s = JSON.parse((await get('/status')).body) as WatchdogStatus
      return (
        s.tunnel.state === 'running' &&
        (s.tunnel.readyConnections ?? 0) > 0 &&
        s.origin?.state === 'running' &&
        s.dns?.state === 'ok'
      )
    },
    30_000,
  )
}, 60_000)

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM')
    await waitExit(child, 20_000)
  }
  await dns.close()
  cleanup()
}, 30_000)

describe('the status page on the watchdog (real CLI, cloudflared simulator)', () => {
  it('serves the page at /status/page: the tunnel state, the origin and DNS components, under 50 KB', async () => {
    const res = await get('/status/page')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.headers['content-security-policy']).toBeDefined()
    expect(Buffer.byteLength(res.body)).toBeLessThan(50 * 1024)
    expect(res.body).toContain('scanner-tunnel watchdog')
    expect(res.body).toMatch(/running/)
    expect(res.body).toContain('origin')
    expect(res.body).toContain('dns')
    // Offline: no asset from anywhere else.
    expect(res.body).not.toMatch(/(?:src|href)="(?:https?:)?\/\//)
  })

  it('keeps /status JSON for scripts and sends a browser to the page', async () => {
    const plain = await get('/status')
    expect(plain.headers['content-type']).toBe('application/json')
    expect((JSON.parse(plain.body) as WatchdogStatus).service).toBe('scanner-tunnel')
    const curl = await get('/status', { accept: '*/*' })
    expect(curl.headers['content-type']).toBe('application/json')
    const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
    for (const path of ['/status', '/']) {
      const browser = await get(path, { accept: browserAccept })
      expect(browser.status).toBe(303)
      expect(browser.headers.location).toBe('/status/page')
      expect(browser.headers.vary).toBe('accept')
    }
    const r = await runCli(['status', '--url', base])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^State\s+running$/m)
  })

  it('serves the history as JSON', async () => {
    const res = await get('/status/page/history.json')
    expect(res.status).toBe(200)
    const doc = JSON.parse(res.body) as { events: { kind: string; state?: string }[] }
    expect(doc.events.some((e) => e.kind === 'state' && e.state === 'running')).toBe(true)
  })

  it('streams a restart to the page over Server-Sent Events', async () => {
    const url = new URL('/status/page/events', base)
    let stream = ''
    const req = request(url, { headers: { accept: 'text/event-stream' } })
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve).on('error', reject)
    })
    req.end()
    const res = await response
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    res.setEncoding('utf8')
    res.on('data', (d: string) => (stream += d))
    const before = (JSON.parse((await get('/status')).body) as WatchdogStatus).tunnel.pid
    const seqBefore = Math.max(
      0,
      ...(
        JSON.parse((await get('/status/page/history.json')).body) as { events: { seq: number }[] }
      ).events.map((e) => e.seq),
    )
    const reload = await runCli(['reload', '--url', base], { timeoutMs: 120_000 })
    expect(reload.code).toBe(0)
    await waitFor(
      'a restart with its strategy on the event stream',
      () =>
        stream
          .split('\n\n')
          .some(
            (message) =>
              message.includes('event: update\n') &&
              Number(/^id: (\d+)$/m.exec(message)?.[1] ?? 0) > seqBefore &&
              message.includes('make-before-break'),
          ),
      30_000,
    )
    const history = JSON.parse((await get('/status/page/history.json')).body) as {
      events: { kind: string; strategy?: string }[]
    }
    expect(
      history.events.some((e) => e.kind === 'restart' && e.strategy === 'make-before-break'),
    ).toBe(true)
    expect((JSON.parse((await get('/status')).body) as WatchdogStatus).tunnel.pid).not.toBe(before)
    req.destroy()
  }, 150_000)
})
