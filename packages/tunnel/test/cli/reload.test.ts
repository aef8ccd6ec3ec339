import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  fakeCloudflaredEnv,
  fakeCloudflaredPath,
  fakeCloudflaredToken,
} from '@scanner/tunnel/testing'
import type { WatchdogStatus } from '../../src/cli/commands/run.js'
import { alive, freePort, runCli, spawnCli, tempDir, waitExit, waitFor } from './helpers.js'
import type { CliProcess } from './helpers.js'

const TOKEN = fakeCloudflaredToken({ secret: 'reload-test-secret-do-not-log' })

let dir: string
let cleanup: () => void
let child: CliProcess
let base: string
let configFile: string
let configText: string

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

async function status(): Promise<WatchdogStatus> {
  return (await (await fetch(`${base}/status`)).json()) as WatchdogStatus
}

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
}

/** A raw request, so the test controls every header (fetch adds its own). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; body: string }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers, setHost: false },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (text += d))
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: text })
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

beforeAll(async () => {
  ;({ dir, cleanup } = tempDir())
  const file = join(dir, 'watchdog.yaml')
  configFile = file
  mkdirSync(join(dir, 'logs'))
  configText = [
    'tunnel:',
    `  bin: ${fakeCloudflaredPath}`,
    '  gracePeriodMs: 500',
    '  readyTimeoutMs: 20000',
    '  backoff: { initialDelayMs: 100, maxDelayMs: 200, jitter: none }',
    'dns:',
    '  enabled: false',
    'status:',
    '  listen: 127.0.0.1:0',
    '',
  ].join('\n')
  writeFileSync(file, configText)
  child = spawnCli(['run', '--config', file], {
    ...fakeCloudflaredEnv('normal'),
    TUNNEL_TOKEN: TOKEN,
  })
  base = (await waitFor('the status endpoint', () => statusUrl(child), 30_000)).replace(
    /\/status$/,
    '',
  )
  await waitFor(
    'the tunnel to run',
    async () => {
      const s = await status()
      return s.tunnel.state === 'running' && (s.tunnel.readyConnections ?? 0) > 0
    },
    30_000,
  )
}, 60_000)

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM')
    await waitExit(child, 20_000)
  }
  cleanup()
}, 30_000)

describe('scanner-tunnel reload (real watchdog, cloudflared simulator)', () => {
  it('hands over make-before-break: a new cloudflared, the old one gone, the watchdog still running', async () => {
    const before = await status()
    const oldPid = before.tunnel.pid!
    const r = await runCli(['reload', '--url', base], { timeoutMs: 120_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /^Reloaded: make-before-break, handover \d+ ms\. cloudflared pid \d+\.\n$/,
    )
    const after = await status()
    expect(after.tunnel.pid).not.toBe(oldPid)
    expect(r.stdout).toContain(`pid ${String(after.tunnel.pid)}.`)
    expect(after.tunnel.state).toBe('running')
    await waitFor('the old cloudflared to be gone', () => !alive(oldPid), 20_000)
    expect(child.exitCode).toBeNull()
    expect(after.pid).toBe(before.pid)
  }, 150_000)

  it('reload --bin switches to a new binary (and --json prints the answer)', async () => {
    const binDir = join(dir, 'cloudflared-2026.9.0')
    mkdirSync(binDir, { mode: 0o755 })
    const bin = join(binDir, 'cloudflared')
    copyFileSync(fakeCloudflaredPath, bin)
    chmodSync(bin, 0o755)
    const r = await runCli(['reload', '--url', base, '--bin', bin, '--json'], {
      timeoutMs: 120_000,
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const answer = JSON.parse(r.stdout) as { strategy: string; handoverMs: number; pid: number }
    expect(answer.strategy).toBe('make-before-break')
    expect(answer.handoverMs).toBeGreaterThan(0)
    expect(cmdline(answer.pid)).toContain(bin)
    expect((await status()).tunnel.pid).toBe(answer.pid)
    expect(child.exitCode).toBeNull()
  }, 150_000)

  it('reload without --bin applies a changed tunnel.bin from the config; a broken config is refused', async () => {
    const binDir = join(dir, 'cloudflared-from-config')
    mkdirSync(binDir, { mode: 0o755 })
    const bin = join(binDir, 'cloudflared')
    copyFileSync(fakeCloudflaredPath, bin)
    chmodSync(bin, 0o755)
    writeFileSync(configFile, configText.replace(`  bin: ${fakeCloudflaredPath}`, `  bin: ${bin}`))
    const r = await runCli(['reload', '--url', base, '--json'], { timeoutMs: 120_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const answer = JSON.parse(r.stdout) as { strategy: string; pid: number }
    expect(answer.strategy).toBe('make-before-break')
    expect(cmdline(answer.pid)).toContain(bin)

    writeFileSync(configFile, `${configText}tunnel.nonsense: [\n`)
    const broken = await runCli(['reload', '--url', base])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toMatch(
      /^scanner-tunnel: reload refused: the config cannot be read: .+\n$/,
    )
    expect((await status()).tunnel.pid).toBe(answer.pid)
    writeFileSync(configFile, configText)
  }, 150_000)

  it('runs one reload at a time: a second one meanwhile gets 409', async () => {
    const host = new URL(base).host
    const headers = { host, 'content-type': 'application/json', 'x-scanner-tunnel-reload': '1' }
    const first = raw('POST', '/reload', headers, '{}')
    // The first one is running once the supervisor reports a handover in progress.
    await waitFor('the first handover', async () => (await status()).tunnel.handover != null)
    const second = await raw('POST', '/reload', headers, '{}')
    expect(second.status).toBe(409)
    expect(second.body).toContain('a reload is already running')
    const done = await first
    expect(done.status).toBe(200)
    expect((JSON.parse(done.body) as { strategy: string }).strategy).toBe('make-before-break')
  }, 120_000)

  it('SIGUSR2 runs the same handover', async () => {
    const oldPid = (await status()).tunnel.pid!
    child.kill('SIGUSR2')
    await waitFor(
      'a new cloudflared after SIGUSR2',
      async () => {
        const s = await status()
        return s.tunnel.pid !== undefined && s.tunnel.pid !== oldPid && s.tunnel.state === 'running'
      },
      60_000,
    )
    await waitFor('the old cloudflared to be gone', () => !alive(oldPid), 20_000)
    expect(child.exitCode).toBeNull()
  }, 90_000)

  it('refuses a bad --bin with one clear line and exit code 1; the tunnel keeps its cloudflared', async () => {
    const pid = (await status()).tunnel.pid
    const missing = await runCli([
      'reload',
      '--url',
      base,
      '--bin',
      join(dir, 'no-such', 'cloudflared'),
    ])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(
      /^scanner-tunnel: reload refused: cannot use \/.*no-such\/cloudflared: ENOENT\n$/,
    )

    const writable = join(dir, 'shared')
    mkdirSync(writable)
    chmodSync(writable, 0o777)
    const planted = join(writable, 'cloudflared')
    copyFileSync(fakeCloudflaredPath, planted)
    chmodSync(planted, 0o755)
    const r = await runCli(['reload', '--url', base, '--bin', planted])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^scanner-tunnel: reload refused: .*shared .*not writable by group or others\n$/,
    )

    const other = join(dir, 'node-copy')
    copyFileSync(fakeCloudflaredPath, other)
    chmodSync(other, 0o755)
    const named = await runCli(['reload', '--url', base, '--bin', other])
    expect(named.code).toBe(1)
    expect(named.stderr).toBe(
      `scanner-tunnel: reload refused: ${other}: the file name must contain "cloudflared"\n`,
    )
    expect((await status()).tunnel.pid).toBe(pid)
  }, 180_000)

  it('refuses what a browser page could send: no header, an Origin, a foreign Host, GET, a preflight', async () => {
    const pid = (await status()).tunnel.pid
    const host = new URL(base).host
    const json = { host, 'content-type': 'application/json' }
    const noHeader = await raw('POST', '/reload', json, '{}')
    expect(noHeader.status).toBe(403)
    expect(noHeader.body).toContain('X-Scanner-Tunnel-Reload')
    const withOrigin = await raw(
      'POST',
      '/reload',
      { ...json, 'x-scanner-tunnel-reload': '1', origin: 'https://evil.example' },
      '{}',
    )
    expect(withOrigin.status).toBe(403)
    expect(withOrigin.body).toContain('cross-origin')
    const fetchSite = await raw(
      'POST',
      '/reload',
      { ...json, 'x-scanner-tunnel-reload': '1', 'sec-fetch-site': 'cross-site' },
      '{}',
    )
    expect(fetchSite.status).toBe(403)
    const rebound = await raw(
      'POST',
      '/reload',
      { ...json, host: 'evil.example:8787', 'x-scanner-tunnel-reload': '1' },
      '{}',
    )
    expect(rebound.status).toBe(403)
    expect(rebound.body).toContain('not a loopback address')
    expect((await raw('GET', '/reload', { host })).status).toBe(405)
    expect((await raw('OPTIONS', '/reload', { host, origin: 'https://evil.example' })).status).toBe(
      403,
    )
    const junk = await raw(
      'POST',
      '/reload',
      { ...json, 'x-scanner-tunnel-reload': '1' },
      '{"bin":"/usr/bin/cloudflared","args":["--evil"]}',
    )
    expect(junk.status).toBe(400)
    expect(junk.body).toContain('unknown field \\"args\\"')
    expect((await status()).tunnel.pid).toBe(pid)
  }, 180_000)
})

describe('scanner-tunnel reload without a watchdog', () => {
  it('says it cannot reach one, in one line, exit code 1', async () => {
    const port = await freePort()
    const r = await runCli(['reload', '--url', `http://127.0.0.1:${port}`])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(
      new RegExp(
        `^scanner-tunnel: cannot reach the watchdog at http://127\\.0\\.0\\.1:${port}/reload \\(ECONNREFUSED\\)\\. Is \`scanner-tunnel run\` running, with this address as "status\\.listen"\\?\\n$`,
      ),
    )
  })

  it('rejects a bad --url as a usage error (exit code 2)', async () => {
    const r = await runCli(['reload', '--url', 'ftp://127.0.0.1:1'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'scanner-tunnel: Invalid --url: expected an http:// URL, got "ftp://127.0.0.1:1"\n',
    )
  })
})
