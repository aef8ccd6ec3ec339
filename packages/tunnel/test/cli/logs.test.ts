import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  fakeCloudflaredEnv,
  fakeCloudflaredPath,
  fakeCloudflaredToken,
} from '@scanner/tunnel/testing'
import { dnsSection, freePort, spawnCli, startDns, tempDir, waitExit, waitFor } from './helpers.js'
import type { CliProcess, LoopbackDns } from './helpers.js'

const TOKEN = fakeCloudflaredToken({ secret: 'logs-test-secret-do-not-leak' })

let system: LoopbackDns
let fallback: LoopbackDns
let dir: string
let cleanup: () => void
const children: CliProcess[] = []

beforeAll(async () => {
  ;({ dir, cleanup } = tempDir())
  system = await startDns('ok')
  fallback = await startDns('ok')
})

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  await Promise.all([system.close(), fallback.close()])
  cleanup()
})

function writeConfig(
  name: string,
  extra: string[] = [],
  dns = true,
): { file: string; logDir: string } {
  const logDir = join(dir, `${name}-logs`)
  mkdirSync(logDir, { recursive: true })
  const file = join(dir, `${name}.yaml`)
  writeFileSync(
    file,
    [
      'tunnel:',
      `  bin: ${fakeCloudflaredPath}`,
      '  gracePeriodMs: 500',
      '  backoff: { initialDelayMs: 100, maxDelayMs: 200, jitter: none }',
      ...(dns
        ? dnsSection(system.address, fallback.address, ['intervalMs: 1000', 'timeoutMs: 300'])
        : ['dns:', '  enabled: false']),
      'status:',
      '  listen: 127.0.0.1:0',
      ...extra,
      'log:',
      `  dir: ${logDir}`,
      '',
    ].join('\n'),
  )
  return { file, logDir }
}

function statusUrl(child: CliProcess): string | undefined {
  for (const line of child.out.split('\n')) {
    if (!line.includes('status endpoint listening')) continue
    try {
      return (JSON.parse(line) as { url: string }).url
    } catch {
      // partial line
    }
  }
  return undefined
}

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : ''
}

function records(path: string): { msg: string; [key: string]: unknown }[] {
  return read(path)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { msg: string })
}

/**
 * A strict check of the Prometheus text exposition: every family has one HELP and one TYPE
 * before its samples, names and labels are well formed, values are numbers, no sample repeats.
 */
function checkExposition(text: string): Map<string, string> {
  const types = new Map<string, string>()
  const helps = new Set<string>()
  const samples = new Map<string, string>()
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*'
  const sampleRe = new RegExp(
    `^(${name})(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*",?)*\\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$`,
  )
  expect(text.endsWith('\n')).toBe(true)
  for (const line of text.split('\n').slice(0, -1)) {
    if (line === '') continue // the format ignores empty lines
    const help = new RegExp(`^# HELP (${name}) \\S.*$`).exec(line)
    if (help) {
      expect(helps.has(help[1]!), `duplicate HELP ${help[1]}`).toBe(false)
      helps.add(help[1]!)
      continue
    }
    const type = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(
      line,
    )
    if (type) {
      expect(types.has(type[1]!), `duplicate TYPE ${type[1]}`).toBe(false)
      types.set(type[1]!, type[2]!)
      continue
    }
    const sample = sampleRe.exec(line)
    expect(sample, `malformed line: ${line}`).not.toBeNull()
    const family = sample![1]!.replace(/_(bucket|sum|count)$/, '')
    expect(types.has(sample![1]!) || types.has(family), `no TYPE for ${line}`).toBe(true)
    expect(helps.has(sample![1]!) || helps.has(family), `no HELP for ${line}`).toBe(true)
    const key = `${sample![1]!}${sample![2] ?? ''}`
    expect(samples.has(key), `duplicate sample ${key}`).toBe(false)
    samples.set(key, sample![3]!)
  }
  for (const [family, type] of types) {
    if (type === 'counter') expect(family.endsWith('_total'), family).toBe(true)
  }
  return samples
}

describe('scanner-tunnel run: the log directory', () => {
  it('writes a DNS episode (a loopback server stops answering, then answers) to health_checks.log', async () => {
    const { file, logDir } = writeConfig('dns')
    const child = spawnCli(['run', '--config', file], {
      ...fakeCloudflaredEnv('normal'),
      TUNNEL_TOKEN: TOKEN,
    })
    children.push(child)
    const url = await waitFor('the status endpoint', () => statusUrl(child))
    const dnsState = async (): Promise<string | undefined> =>
      ((await (await fetch(url)).json()) as { dns: { state: string } | null }).dns?.state
    await waitFor('DNS ok', async () => (await dnsState()) === 'ok', 20_000)
    const health = join(logDir, 'health_checks.log')
    system.mode = 'drop'
    await waitFor(
      'the failure in health_checks.log',
      () => read(health).includes('DNS failure: the system resolver fails'),
      20_000,
    )
    system.mode = 'ok'
    await waitFor(
      'the recovery in health_checks.log',
      () => read(health).includes('DNS resolution recovered'),
      20_000,
    )
    const lines = records(health)
    // Routed by the first module (the DNS monitor adds "module":"dns" after it).
    expect(
      read(health)
        .split('\n')
        .filter((l) => l !== '')
        .every((l) => l.includes('"module":"health"')),
    ).toBe(true)
    expect(lines.map((r) => r.msg)).toEqual(
      expect.arrayContaining([expect.stringContaining('DNS failure'), 'DNS resolution recovered']),
    )
    child.kill('SIGTERM')
    expect((await waitExit(child, 20_000)).code).toBe(0)
    // The DNS records are in the monitor log too, and nothing else is in health_checks.log.
    expect(read(join(logDir, 'tunnel_monitor.log'))).toContain('DNS resolution recovered')
    expect(read(health)).not.toContain('Registered tunnel connection')
  }, 90_000)

  it('gives the origin its own raw log, an exit record with its last lines, no credentials, and /metrics', async () => {
    // A real origin: prints, crashes once (exit 3), then serves and logs each request.
    const originPort = await freePort()
    const script = join(dir, 'origin.cjs')
    writeFileSync(
      script,
      `
const fs = require('node:fs')
const http = require('node:http')
const counter = ${JSON.stringify(join(dir, 'origin-runs'))}
const n = fs.existsSync(counter) ? Number(fs.readFileSync(counter, 'utf8')) + 1 : 1
fs.writeFileSync(counter, String(n))
fs.writeFileSync(${JSON.stringify(dir)} + '/origin-env-' + n + '.json', JSON.stringify(process.env))
console.log('origin run ' + n + ' starting')
console.log('a line with "quotes", a \\\\ backslash and {"json":true}')
if (n === 1) {
  setTimeout(() => {
    console.error('Traceback: database connection lost')
    process.exit(3)
  }, 300)
} else {
  const server = http.createServer((req, res) => {
    console.log('GET ' + req.url)
    res.end('ok')
  })
  server.listen(${originPort}, '127.0.0.1')
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}
`,
    )
    const credentials = join(dir, 'credentials')
    mkdirSync(credentials)
    writeFileSync(join(credentials, 'tunnel-token'), `${TOKEN}\n`, { mode: 0o600 })
    const { file, logDir } = writeConfig(
      'origin',
      ['origin:', `  command: ["${process.execPath}", "${script}"]`, '  gracePeriodMs: 2000'],
      false,
    )
    writeFileSync(file, `${readFileSync(file, 'utf8')}  originFile: django.log\n`)
    const child = spawnCli(['run', '--config', file], {
      ...fakeCloudflaredEnv('normal'),
      CREDENTIALS_DIRECTORY: credentials,
      SCANNER_TUNNEL_LOG_LEVEL: 'info',
    })
    children.push(child)
    const url = await waitFor('the status endpoint', () => statusUrl(child))
    const originLog = join(logDir, 'django.log')
    const monitor = join(logDir, 'tunnel_monitor.log')
    await waitFor(
      'the second origin run',
      () => read(originLog).includes('origin run 2 starting'),
      20_000,
    )

    // origin.log holds the text as printed, one line per line.
    const text = read(originLog)
    expect(text).toContain('origin run 1 starting\n')
    expect(text).toContain('a line with "quotes", a \\ backslash and {"json":true}\n')
    expect(text).toContain('Traceback: database connection lost\n')
    expect(statSync(originLog).mode & 0o777).toBe(0o640)
    // One record explains the crash: code and the last lines.
    const exit = await waitFor('the exit record', () =>
      records(monitor).find((r) => r.msg.startsWith('origin service exited with code 3')),
    )
    expect(exit.exitCode).toBe(3)
    expect(exit.lastLines).toEqual([
      'origin run 1 starting',
      'a line with "quotes", a \\ backslash and {"json":true}',
      'Traceback: database connection lost',
    ])
    expect(exit.msg).toContain('Traceback: database connection lost')
    expect(records(join(logDir, 'tunnel_errors.log')).map((r) => r.msg)).toContain(exit.msg)
    // The origin's output is also in the monitor log, and not in cloudflared.log.
    expect(read(monitor)).toContain('origin run 1 starting')
    expect(read(join(logDir, 'cloudflared.log'))).not.toContain('origin run')

    // The origin never sees the token, the credentials directory or the CLI's settings.
    for (const run of [1, 2]) {
      const env = JSON.parse(read(join(dir, `origin-env-${run}.json`))) as Record<string, string>
      expect(Object.keys(env).filter((k) => /TUNNEL|CREDENTIALS/.test(k))).toEqual([])
      expect(Object.values(env).some((v) => v.includes(TOKEN) || v.includes(credentials))).toBe(
        false,
      )
    }

    // /metrics on the status listener: well-formed, with the tunnel, DNS-free and origin series.
    const base = url.replace(/\/status$/, '')
    await waitFor('a running tunnel and origin', async () => {
      const s = (await (await fetch(url)).json()) as {
        tunnel: { state: string }
        origin: { state: string } | null
      }
      return s.tunnel.state === 'running' && s.origin?.state === 'running'
    })
    const res = await fetch(`${base}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const samples = checkExposition(await res.text())
    expect(samples.get('scanner_tunnel_state{tunnel="tunnel",state="running"}')).toBe('1')
    expect(samples.get('scanner_origin_restarts_total{reason="exit"}')).toBe('1')
    expect(samples.get('scanner_origin_state{state="running"}')).toBe('1')
    expect([...samples.keys()].some((k) => k.startsWith('scanner_tunnel_restarts_total'))).toBe(
      false,
    )

    // logrotate: rename, SIGHUP, and new lines go to a new file.
    renameSync(originLog, `${originLog}.1`)
    child.kill('SIGHUP')
    await waitFor('the reopen', () => read(monitor).includes('log files reopened'))
    expect((await fetch(`http://127.0.0.1:${originPort}/after-rotation`)).ok).toBe(true)
    await waitFor('the new origin log', () => read(originLog).includes('GET /after-rotation'))
    expect(read(`${originLog}.1`)).not.toContain('after-rotation')

    child.kill('SIGTERM')
    const result = await waitExit(child, 20_000)
    expect(result.code).toBe(0)
    for (const name of readdirSync(logDir)) expect(read(join(logDir, name))).not.toContain(TOKEN)
  }, 90_000)

  it('turns a flood of cloudflared output into a bounded number of written bytes', async () => {
    const { file, logDir } = writeConfig('flood', [], false)
    writeFileSync(file, `${readFileSync(file, 'utf8')}  level: debug\n`)
    const floodBytes = 16 * 1024 * 1024
    const child = spawnCli(['run', '--config', file], {
      ...fakeCloudflaredEnv('flood', { floodBytes, floodLineBytes: 256 }),
      TUNNEL_TOKEN: TOKEN,
    })
    children.push(child)
    const cloudflaredLog = join(logDir, 'cloudflared.log')
    await waitFor(
      'the end of the flood',
      () => read(cloudflaredLog).includes('flood complete'),
      60_000,
    )
    child.kill('SIGTERM')
    const result = await waitExit(child, 20_000)
    expect(result.code).toBe(0)
    const written = readdirSync(logDir)
      .map((name) => statSync(join(logDir, name)).size)
      .reduce((a, b) => a + b, 0)
    // 65 000 lines of 256 bytes came in: a few are written, the rest summarised.
    expect(written).toBeLessThan(64 * 1024)
    expect(result.stdout.length).toBeLessThan(64 * 1024)
    const raw = read(cloudflaredLog)
    expect(raw).toMatch(/scanner: … repeated \d+ times in \d+\.\d s: .*DBG Inbound request/)
    const summarised = [...raw.matchAll(/repeated (\d+) times/g)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    )
    const kept = raw.split('\n').filter((l) => l.includes('DBG Inbound') && !l.includes('repeated'))
    expect(summarised + kept.length).toBe(Math.floor(floodBytes / 256))
  }, 120_000)
})
