import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo, Server } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fakeCloudflaredPath } from '@scanner/tunnel/testing'
import { dnsSection, runCli, startDns, tempDir, waitFor } from './helpers.js'
import type { LoopbackDns } from './helpers.js'

let dns: LoopbackDns
let badDns: LoopbackDns
let origin: Server
let originUrl: string
let sim: ChildProcess
let metricsUrl: string
let dir: string
let cleanup: () => void

beforeAll(async () => {
  ;({ dir, cleanup } = tempDir())
  dns = await startDns('ok')
  badDns = await startDns('servfail')
  origin = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"status":"alive"}')
  })
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
  // A running "cloudflared" (the simulator) whose metrics server `check` reads.
  sim = spawn(
    process.execPath,
    [
      fakeCloudflaredPath,
      'tunnel',
      '--no-autoupdate',
      '--metrics',
      '127.0.0.1:0',
      '--url',
      originUrl,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let err = ''
  sim.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d))
  const address = await waitFor(
    'the simulator metrics server',
    () => /Starting metrics server on (\S+)\/metrics/.exec(err)?.[1],
  )
  metricsUrl = `http://${address}`
})

afterAll(async () => {
  sim.kill('SIGKILL')
  await Promise.all([dns.close(), badDns.close(), new Promise((r) => origin.close(r))])
  cleanup()
})

/** Writes a check config: the given tunnel lines and origin, DNS through `systemServer`. */
function checkConfig(
  name: string,
  parts: { tunnel: string[]; healthUrl: string; systemServer: string },
): string {
  const path = join(dir, name)
  writeFileSync(
    path,
    [
      'tunnel:',
      ...parts.tunnel.map((line) => `  ${line}`),
      'origin:',
      `  healthUrl: ${parts.healthUrl}`,
      ...dnsSection(parts.systemServer, dns.address, ['timeoutMs: 1000']),
      'status:',
      '  listen: off',
      '',
    ].join('\n'),
  )
  return path
}

describe('scanner-tunnel check (real processes)', () => {
  it('passes every item against the simulator, a loopback DNS server and a healthy origin', async () => {
    const file = checkConfig('good.yaml', {
      tunnel: [`bin: ${fakeCloudflaredPath}`, `publicUrl: ${originUrl}/public`],
      healthUrl: `${originUrl}/health/live/`,
      systemServer: dns.address,
    })
    const r = await runCli(['check', '--config', file, '--metrics-url', metricsUrl])
    expect(r.stderr).toBe('')
    const lines = r.stdout.trim().split('\n')
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([])
    expect(r.stdout).toMatch(/^OK\s+cloudflared\s+.*version \d+\.\d+\.\d+/m)
    expect(r.stdout).toMatch(/^OK\s+metrics\s+.*ready/m)
    expect(r.stdout).toMatch(/^OK\s+dns system\s/m)
    expect(r.stdout).toMatch(
      new RegExp(`^OK\\s+dns fallback ${dns.address.replace(/\./g, '\\.')}\\s`, 'm'),
    )
    expect(r.stdout).toMatch(/^OK\s+origin\s/m)
    expect(r.stdout).toMatch(/^OK\s+public url\s/m)
    expect(r.stdout).toMatch(/^OK\s+clock\s/m)
    expect(r.code).toBe(0)
  })

  it('fails (exit 1) with a line per broken item', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/health/live/`
    await new Promise((r) => closed.close(r))
    const file = checkConfig('bad.yaml', {
      tunnel: [`bin: ${join(dir, 'no-cloudflared-here')}`],
      healthUrl: deadUrl,
      systemServer: badDns.address,
    })
    const r = await runCli(['check', '--config', file])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^FAIL\s+cloudflared\s+.*not found; install it/m)
    expect(r.stdout).toMatch(/^SKIP\s+metrics\s/m)
    expect(r.stdout).toMatch(/^FAIL\s+dns system\s/m)
    expect(r.stdout).toMatch(/^OK\s+dns fallback\s/m)
    expect(r.stdout).toMatch(/^FAIL\s+origin\s+.*ECONNREFUSED/m)
    expect(r.stdout).toMatch(/^SKIP\s+public url\s/m)
    expect(r.stdout).toMatch(/^SKIP\s+clock\s/m)
    expect(r.stdout).toContain('check(s) failed')
  })
})
