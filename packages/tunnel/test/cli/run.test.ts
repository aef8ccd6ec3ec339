import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  fakeCloudflaredEnv,
  fakeCloudflaredPath,
  fakeCloudflaredToken,
} from '@scanner/tunnel/testing'
import type { WatchdogStatus } from '../../src/cli/commands/run.js'
import { main } from '../../src/cli/main.js'
import {
  alive,
  dnsSection,
  freePort,
  runCli,
  runInProcess,
  spawnCli,
  startDns,
  tempDir,
  waitExit,
  waitFor,
} from './helpers.js'
import type { CliProcess, LoopbackDns } from './helpers.js'

/** A well-formed (fake) tunnel token: it must never show up in logs. */
const TOKEN = fakeCloudflaredToken({ secret: 'cli-test-secret-do-not-log' })

let dns: LoopbackDns
let dir: string
let cleanup: () => void
const children: CliProcess[] = []

beforeAll(async () => {
  ;({ dir, cleanup } = tempDir())
  dns = await startDns('ok')
})

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  await dns.close()
  cleanup()
})

/** A tiny origin service: answers 200 on any path, stops on SIGTERM. */
const ORIGIN_SCRIPT = `
const http = require('node:http')
const server = http.createServer((req, res) => res.end('ok'))
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('origin listening'))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
`

function writeConfig(name: string, extra: string[] = []): { file: string; logDir: string } {
  const logDir = join(dir, `${name}-logs`)
  mkdirSync(logDir, { recursive: true })
  const file = join(dir, `${name}.yaml`)
  writeFileSync(
    file,
    [
      'tunnel:',
      `  bin: ${fakeCloudflaredPath}`,
      '  gracePeriodMs: 500',
      '  readyTimeoutMs: 10000',
      '  backoff: { initialDelayMs: 100, maxDelayMs: 200, jitter: none }',
      ...dnsSection(dns.address, dns.address, ['intervalMs: 1000', 'timeoutMs: 500']),
      'log:',
      `  dir: ${logDir}`,
      'status:',
      '  listen: 127.0.0.1:0',
      ...extra,
      '',
    ].join('\n'),
  )
  return { file, logDir }
}

async function getJson(url: string): Promise<WatchdogStatus> {
  const res = await fetch(url)
  return (await res.json()) as WatchdogStatus
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

describe('scanner-tunnel run (real processes, cloudflared simulator)', () => {
  it('supervises through a crash, reopens logs on SIGHUP, stops on SIGTERM with exit 0 and leaves nothing', async () => {
    const originScript = join(dir, 'origin.cjs')
    writeFileSync(originScript, ORIGIN_SCRIPT)
    const originPort = await freePort()
    const { file, logDir } = writeConfig('main', [
      'origin:',
      `  command: ["${process.execPath}", "${originScript}"]`,
      `  env: { PORT: "${originPort}" }`,
      `  healthUrl: http://127.0.0.1:${originPort}/health`,
      '  gracePeriodMs: 2000',
    ])
    // The first cloudflared crashes (exit 1) 800 ms after it became ready; the next ones run.
    const simulator = fakeCloudflaredEnv(['crash', 'normal'], {
      counterFile: join(dir, 'starts'),
      crashAfterMs: 800,
      exitCode: 1,
    })
    const child = spawnCli(['run', '--config', file], { ...simulator, TUNNEL_TOKEN: TOKEN })
    children.push(child)
    const url = await waitFor('the status endpoint', () => statusUrl(child))
    const first = await waitFor('the tunnel to run', async () => {
      const s = await getJson(url)
      return s.tunnel.state === 'running' && s.tunnel.starts === 1 ? s : undefined
    })
    const firstPid = first.tunnel.pid!
    const origin = await waitFor('the origin service', async () => {
      const s = await getJson(url)
      return s.origin?.pid !== undefined && (await fetch(`http://127.0.0.1:${originPort}/`)).ok
        ? s.origin
        : undefined
    })
    expect(origin.name).toBe('origin')
    expect(first.dns).not.toBeNull()

    // The crash: the supervisor restarts cloudflared after the backoff.
    const second = await waitFor('the restart', async () => {
      const s = await getJson(url)
      // All four connections registered: nothing changes after this.
      return s.tunnel.state === 'running' &&
        s.tunnel.starts === 2 &&
        s.tunnel.readyConnections === 4
        ? s
        : undefined
    })
    expect(second.tunnel.restarts.total).toBe(1)
    expect(second.tunnel.restarts.byReason.exit).toBe(1)
    expect(second.tunnel.lastExit).toMatchObject({ pid: firstPid, exitCode: 1 })
    expect(second.tunnel.pid).not.toBe(firstPid)
    expect(alive(firstPid)).toBe(false)
    // `status --json` prints what the supervisor reports (stable now: the second run keeps running).
    const viaCli = await runCli(['status', '--json', '--url', url.replace(/\/status$/, '')])
    expect(viaCli.code).toBe(0)
    const printed = JSON.parse(viaCli.stdout) as WatchdogStatus
    expect(printed.pid).toBe(child.pid)
    expect(printed.tunnel.pid).toBe(second.tunnel.pid)
    expect(printed.tunnel.state).toBe('running')
    expect(printed.tunnel.readyConnections).toBe(second.tunnel.readyConnections)
    expect(printed.tunnel.restarts).toEqual(second.tunnel.restarts)

    const table = await runCli(['status', '--url', url])
    expect(table.stdout).toMatch(/^State\s+running$/m)
    expect(table.stdout).toMatch(/^Restarts\s+1 \(exit 1\)$/m)

    // SIGHUP reopens the log files (logrotate moved them).
    const monitor = join(logDir, 'tunnel_monitor.log')
    await waitFor('the monitor log', () => existsSync(monitor))
    renameSync(monitor, `${monitor}.1`)
    child.kill('SIGHUP')
    await waitFor(
      'a new monitor log with new records',
      () => existsSync(monitor) && readFileSync(monitor, 'utf8').includes('log files reopened'),
    )
    expect(readdirSync(logDir).sort()).toEqual(
      [
        'cloudflared.log',
        'health_checks.log',
        'origin.log',
        'tunnel_errors.log',
        'tunnel_monitor.log',
        'tunnel_monitor.log.1',
      ].sort(),
    )
    expect(readFileSync(join(logDir, 'cloudflared.log'), 'utf8')).toContain(
      'Registered tunnel connection',
    )

    // SIGTERM: graceful stop, exit 0, no simulator left.
    const secondPid = second.tunnel.pid!
    child.kill('SIGTERM')
    const result = await waitExit(child, 15_000)
    expect(result.code).toBe(0)
    expect(alive(secondPid)).toBe(false)
    expect(alive(origin.pid!)).toBe(false)
    for (const name of readdirSync(logDir)) {
      expect(readFileSync(join(logDir, name), 'utf8')).not.toContain(TOKEN)
    }
    expect(result.stdout).not.toContain(TOKEN)
  }, 180_000)

  it('takes the same signal repeated at once for a forwarded copy; another signal forces the stop (in-process)', async () => {
    const { file, logDir } = writeConfig('signals')
    const handlers = new Map<string, () => void>()
    const logs = (): string =>
      readdirSync(logDir)
        .map((name) => readFileSync(join(logDir, name), 'utf8'))
        .join('')
    const done = main(['run', '--config', file, '--no-dns-enabled'], {
      env: { ...fakeCloudflaredEnv('normal'), TUNNEL_TOKEN: TOKEN },
      cwd: dir,
      stdout: { write: () => true },
      stderr: { write: () => true },
      onSignal: (signal, handler) => {
        handlers.set(signal, handler)
        return () => handlers.delete(signal)
      },
    })
    await waitFor('the tunnel to be ready', () => logs().includes('tunnel ready'))
    const signal = (name: string): void => {
      handlers.get(name)?.()
    }
    // One Ctrl-C seen twice (from the terminal, and forwarded by a wrapper), then a different
    // signal during the stop: only the latter forces it.
    signal('SIGTERM')
    signal('SIGTERM')
    signal('SIGINT')
    expect(await done).toBe(0)
    await waitFor('the stop to be logged', () => logs().includes('"signal":"SIGTERM"'))
    expect(logs().split('second stop signal: forcing the stop').length - 1).toBe(1)
  })

  it('exits 1 with the reason and the last output lines when the tunnel fails', async () => {
    const { file } = writeConfig('failing')
    const r = await runCli(['run', '--config', file], {
      env: { TUNNEL_TOKEN: 'not-a-valid-token' },
      timeoutMs: 20_000,
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('the tunnel failed')
    expect(r.stderr).toContain('Provided Tunnel token is not valid')
  })

  it('exits 1 with install instructions when cloudflared is missing (in-process)', async () => {
    const r = await runInProcess(
      [
        'run',
        '--tunnel-bin',
        join(dir, 'no-cloudflared'),
        '--tunnel-url',
        'http://127.0.0.1:8000',
        '--no-dns-enabled',
        '--status-listen',
        'off',
        '--log-level',
        'fatal',
      ],
      {},
      dir,
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('scanner-tunnel: cannot start the tunnel:')
    expect(r.stderr).toMatch(/install/i)
  })
})
