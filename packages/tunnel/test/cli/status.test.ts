import { createServer } from 'node:http'
import type { AddressInfo, Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatStatus } from '../../src/cli/commands/status.js'
import { runCli, runInProcess } from './helpers.js'

const doc = {
  service: 'scanner-tunnel',
  version: '0.1.0',
  pid: 4242,
  startedAt: '2026-01-01T00:00:00.000Z',
  uptimeMs: 3_723_000,
  tunnel: {
    state: 'running',
    pid: 4243,
    uptimeMs: 125_000,
    protocol: 'quic',
    readyConnections: 4,
    restarts: 3,
    restartsByReason: { exit: 2, 'quic-timeouts': 1 },
    lastErrors: [
      { time: '2026-01-01T00:01:00Z', message: 'failed to accept incoming stream requests' },
      {
        time: '2026-01-01T00:02:00Z',
        message:
          '2026-01-01T00:02:00Z ERR Failed to dial a quic connection error="timeout: no recent network activity" connIndex=1',
      },
      {
        time: '2026-01-01T00:03:00Z',
        message: '2026/01/01 00:03:00 failed to sufficiently increase receive buffer size',
      },
    ],
  },
  origin: { state: 'running', pid: 4244, restarts: 0 },
  dns: { state: 'ok', lastReport: null },
}

let server: Server
let base: string
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(doc))
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(
  () =>
    new Promise<void>((resolve) =>
      server.close(() => {
        resolve()
      }),
    ),
)

describe('scanner-tunnel status', () => {
  it('prints state, uptime, protocol, ready connections, restarts by reason and last errors', async () => {
    const r = await runInProcess(['status', '--url', base])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^State\s+running$/m)
    expect(r.stdout).toMatch(/^Uptime\s+2m 5s$/m)
    expect(r.stdout).toMatch(/^Protocol\s+quic$/m)
    expect(r.stdout).toMatch(/^Ready connections\s+4$/m)
    expect(r.stdout).toMatch(/^Restarts\s+3 \(exit 2, quic-timeouts 1\)$/m)
    expect(r.stdout).toContain('failed to accept incoming stream requests')
    // One timestamp per error line, even when the line carries cloudflared's own.
    expect(r.stdout).toContain(
      '2026-01-01T00:02:00Z  ERR Failed to dial a quic connection error="timeout: no recent network activity" connIndex=1',
    )
    expect(r.stdout).toContain(
      '2026-01-01T00:03:00Z  failed to sufficiently increase receive buffer size',
    )
    for (const line of r.stdout.split('\n')) {
      expect(line.match(/\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}/g)?.length ?? 0).toBeLessThan(
        2,
      )
    }
    expect(r.stdout).toBe(formatStatus(doc))
  })

  it('prints the raw JSON with --json', async () => {
    const r = await runInProcess(['status', '--url', `${base}/status`, '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual(doc)
  })

  it('exits 1 with a clear message when the endpoint is unreachable (real process)', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) =>
      closed.close(() => {
        resolve()
      }),
    )
    const r = await runCli(['status', '--url', `http://127.0.0.1:${port}`])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`cannot reach the status endpoint http://127.0.0.1:${port}/status`)
    expect(r.stderr).toContain('ECONNREFUSED')
  })

  it('takes the address from status.listen', async () => {
    const port = new URL(base).port
    const r = await runInProcess(['status', '--json'], {
      SCANNER_TUNNEL_STATUS_LISTEN: `127.0.0.1:${port}`,
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).pid).toBe(4242)
  })

  it('never sends control characters from the document to the terminal', () => {
    const out = formatStatus({
      ...doc,
      version: '0.1.0\u001b[2J',
      tunnel: {
        ...doc.tunnel,
        state: 'running\u001b]0;pwned\u0007',
        protocol: 'quic\nState              failed',
        lastErrors: [{ time: 't', message: 'evil \u001b[31mred\u001b[0m\r\u009b1m' }],
      },
    })
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
    expect(out).toMatch(/^State\s+running\\u001b\]0;pwned\\u0007$/m)
    // A line break in a value cannot forge a row.
    expect(out).not.toMatch(/^State\s+failed/m)
    expect(out).toContain('quic\\u000aState')
    expect(out).toContain('evil \\u001b[31mred\\u001b[0m\\u000d\\u009b1m')
  })
})
