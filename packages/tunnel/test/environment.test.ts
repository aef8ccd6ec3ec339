// Environmental failures are never a crash loop: exits caused by DNS, the network, the edge or a
// rate limit keep restarting with capped backoff, and the supervisor resumes when they clear.
import type { Tunnel, TunnelState } from '@scanner/tunnel'
import { fakeCloudflaredEnv } from '@scanner/tunnel/testing'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FakeDns, stopAll, tempDir, tunnelFor, waitFor } from './helpers.js'

// Captured before any fake timers: polls of real child processes run on real time.
const realSetTimeout = globalThis.setTimeout
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    realSetTimeout(resolve, ms)
  })

/** Polls on real time (fake timers stay where the test put them). */
async function until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

afterEach(async () => {
  vi.useRealTimers()
  await stopAll()
})

/** The lines a real cloudflared 2023.7.3 printed with DNS unusable (cloudflared.md §8). */
const REAL_2023_7_3_NAMED = [
  '2026-11-28T10:22:31Z INF Starting tunnel tunnelID=6ff42ae2-765d-4adf-8112-31c55c1551ef',
  '2026-11-28T10:22:31Z INF Version 2023.7.3',
  '2026-11-28T10:22:31Z INF GOOS: linux, GOVersion: go1.19.8, GoArch: amd64',
  '2026-11-28T10:22:31Z INF Settings: map[metrics:{metrics} no-autoupdate:true token:*****]',
  '2026-11-28T10:22:31Z INF Generated Connector ID: 9b3e1f5a-6f3c-4c1b-9f0e-2a7d5c8e4b11',
  '2026-11-28T10:22:31Z ERR update check failed error="Get \\"https://update.argotunnel.com?arch=amd64&clientVersion=2023.7.3&os=linux\\": dial tcp: lookup update.argotunnel.com on 127.0.0.53:53: dial udp 127.0.0.53:53: connect: network is unreachable"',
  '2026-11-28T10:22:31Z INF Starting metrics server on {metrics}/metrics',
  '2026-11-28T10:22:32Z ERR Initiating shutdown error="Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com: lookup _v2-origintunneld._tcp.argotunnel.com on 127.0.0.53:53: dial udp 127.0.0.53:53: connect: network is unreachable"',
  '2026-11-28T10:22:32Z INF Metrics server stopped',
  'Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com: lookup _v2-origintunneld._tcp.argotunnel.com on 127.0.0.53:53: dial udp 127.0.0.53:53: connect: network is unreachable',
]
const REAL_2023_7_3_QUICK = [
  '2026-11-28T10:22:31Z INF Requesting new quick Tunnel on trycloudflare.com...',
  'failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp: lookup api.trycloudflare.com on 127.0.0.53:53: server misbehaving',
]

function recordStates(tunnel: Tunnel): Set<TunnelState> {
  const states = new Set<TunnelState>()
  tunnel.onStateChange(({ state }) => states.add(state))
  return states
}

describe('environmental exits are not a crash loop', () => {
  it('60 s of dead DNS (fake clock): capped backoff, never failed; DNS back = running in one step', async () => {
    const dir = tempDir()
    const scenarioFile = join(dir, 'scenario')
    writeFileSync(scenarioFile, 'dns-failure\n')
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    })
    const tunnel = tunnelFor({
      // cloudflared 2023.7.3 exits 1 about 0.65 s after each start with DNS down.
      env: fakeCloudflaredEnv('normal', { scenarioFile, exitAfterMs: 650 }),
      backoff: { initialDelayMs: 1000, factor: 2, maxDelayMs: 8000, jitter: 'none' },
      maxCrashes: 3,
      recoveryProbe: false,
    })
    const states = recordStates(tunnel)
    const delays: number[] = []
    tunnel.onRestart((e) => {
      expect(e.cause).toBe('dns-failure')
      delays.push(e.delayMs)
    })
    await tunnel.start()
    let simulated = 0
    while (simulated < 60_000) {
      const restarts = delays.length
      await until(() => delays.length > restarts && tunnel.state === 'backoff', 'the next backoff')
      const status = tunnel.status()
      expect(status.backoffReason).toBe('dns-failure')
      expect(status.failure).toBeUndefined()
      const wait = Date.parse(status.nextStartAt ?? '') - Date.now()
      expect(wait).toBeLessThanOrEqual(8000)
      const starts = status.starts
      await vi.advanceTimersByTimeAsync(wait)
      simulated += wait
      await until(() => tunnel.status().starts > starts, 'the next start')
    }
    expect(states.has('failed')).toBe(false)
    expect(tunnel.status().starts).toBeGreaterThan(3) // well past maxCrashes
    expect(delays.slice(0, 5)).toEqual([1000, 2000, 4000, 8000, 8000])
    expect(Math.max(...delays)).toBe(8000)

    // DNS comes back: the start after the current backoff step registers.
    await until(() => tunnel.state === 'backoff', 'a backoff')
    writeFileSync(scenarioFile, 'normal\n')
    const status = tunnel.status()
    await vi.advanceTimersByTimeAsync(Date.parse(status.nextStartAt ?? '') - Date.now())
    await until(() => tunnel.state === 'running', 'running after DNS came back')
    expect(tunnel.status().failure).toBeUndefined()
  }, 120_000)

  it('the real 2023.7.3 named-tunnel lines: restarts past maxCrashes, reason dns-failure', async () => {
    const replayFile = join(tempDir(), 'replay')
    writeFileSync(replayFile, REAL_2023_7_3_NAMED.join('\n') + '\n')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('replay', { replayFile, exitAfterMs: 100, exitCode: 1 }),
      backoff: { initialDelayMs: 20, factor: 2, maxDelayMs: 200, jitter: 'none' },
      maxCrashes: 2,
      recoveryProbe: false,
    })
    const states = recordStates(tunnel)
    const causes = new Set<string | undefined>()
    tunnel.onRestart((e) => causes.add(e.cause))
    await tunnel.start()
    await waitFor(() => tunnel.status().starts >= 6, 30_000, 'six starts')
    expect(states.has('failed')).toBe(false)
    expect([...causes]).toEqual(['dns-failure'])
    await waitFor(() => tunnel.state === 'backoff', 10_000, 'backoff')
    expect(tunnel.status().backoffReason).toBe('dns-failure')
  }, 180_000)

  it('the real 2023.7.3 quick-tunnel line and the simulator quick tunnel: restarts, never failed', async () => {
    const replayFile = join(tempDir(), 'replay')
    writeFileSync(replayFile, REAL_2023_7_3_QUICK.join('\n') + '\n')
    for (const env of [
      fakeCloudflaredEnv('replay', { replayFile, exitAfterMs: 50, exitCode: 1 }),
      fakeCloudflaredEnv('dns-failure', { exitAfterMs: 50 }),
    ]) {
      const tunnel = tunnelFor({
        token: undefined,
        url: 'http://127.0.0.1:9',
        env,
        backoff: { initialDelayMs: 20, factor: 2, maxDelayMs: 200, jitter: 'none' },
        maxCrashes: 2,
        recoveryProbe: false,
      })
      const states = recordStates(tunnel)
      await tunnel.start()
      await waitFor(() => tunnel.status().starts >= 5, 30_000, 'five starts')
      expect(states.has('failed')).toBe(false)
      await waitFor(() => tunnel.state === 'backoff', 10_000, 'backoff')
      expect(tunnel.status().backoffReason).toBe('dns-failure')
      await tunnel.stop()
    }
  }, 180_000)

  it('the simulator dns-failure scenario with a DNS monitor: backoff, then running at once on recovered', async () => {
    const scenarioFile = join(tempDir(), 'scenario')
    writeFileSync(scenarioFile, 'dns-failure\n')
    const dns = new FakeDns()
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', { scenarioFile, exitAfterMs: 50 }),
      // A long step: only the monitor's recovered event can bring it back in time.
      backoff: { initialDelayMs: 20, factor: 4, maxDelayMs: 60_000, jitter: 'none' },
      maxCrashes: 2,
      dns,
    })
    const states = recordStates(tunnel)
    await tunnel.start()
    dns.emit('failure')
    await waitFor(() => tunnel.status().starts >= 4, 30_000, 'four starts')
    await waitFor(() => tunnel.state === 'backoff', 10_000, 'backoff')
    expect(tunnel.status().backoffReason).toBe('dns-failure')
    expect(states.has('failed')).toBe(false)
    writeFileSync(scenarioFile, 'normal\n')
    dns.emit('recovered')
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    expect(tunnel.state).toBe('running')
  }, 180_000)

  it('a monitor that reports dns-failure makes plain exits environmental too', async () => {
    const dns = new FakeDns()
    dns.emit('failure')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('exit', { exitAfterMs: 20 }),
      backoff: { initialDelayMs: 20, factor: 2, maxDelayMs: 100, jitter: 'none' },
      maxCrashes: 2,
      dns,
    })
    const states = recordStates(tunnel)
    await tunnel.start()
    await waitFor(() => tunnel.status().starts >= 5, 30_000, 'five starts')
    expect(states.has('failed')).toBe(false)
  }, 180_000)
})

describe('give-ups the environment may have caused resume by themselves', () => {
  it('a real crash loop still gives up (crash-loop)', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('exit', { exitAfterMs: 20 }),
      maxCrashes: 3,
      recoveryProbe: false,
    })
    await tunnel.start()
    await waitFor(() => tunnel.state === 'failed', 20_000, 'failed')
    expect(tunnel.status().failure?.reason).toBe('crash-loop')
    expect(tunnel.status().starts).toBe(3)
  }, 180_000)

  it('with a DNS monitor: a crash-loop give-up resumes when the monitor reports recovered', async () => {
    const scenarioFile = join(tempDir(), 'scenario')
    writeFileSync(scenarioFile, 'exit\n')
    const dns = new FakeDns()
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', { scenarioFile, exitAfterMs: 20 }),
      maxCrashes: 2,
      dns,
    })
    await tunnel.start()
    await waitFor(() => tunnel.state === 'failed', 20_000, 'failed')
    // The monitor finds the cause only later; once it clears, the tunnel starts again.
    dns.emit('failure')
    expect(tunnel.state).toBe('failed')
    writeFileSync(scenarioFile, 'normal\n')
    dns.emit('recovered')
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    expect(tunnel.status().failure).toBeUndefined()
  }, 180_000)

  it('without a monitor: a recovery probe after a capped interval, then running', async () => {
    const scenarioFile = join(tempDir(), 'scenario')
    writeFileSync(scenarioFile, 'exit\n')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', { scenarioFile, exitAfterMs: 20 }),
      maxCrashes: 2,
      recoveryProbe: { initialMs: 100, maxMs: 200 },
    })
    let failures = 0
    tunnel.on('failed', () => failures++)
    await tunnel.start()
    await waitFor(() => failures >= 2, 20_000, 'a probe that failed again')
    expect(tunnel.status().recoveryProbeAt).toBeDefined()
    writeFileSync(scenarioFile, 'normal\n')
    // The next probe brings it back (waitForReady would reject while it is still `failed`).
    await waitFor(() => tunnel.state === 'running', 20_000, 'running after a probe')
    expect(tunnel.status().recoveryProbeAt).toBeUndefined()
  }, 180_000)

  it('an invalid token never resumes', async () => {
    const dns = new FakeDns()
    const tunnel = tunnelFor({ token: 'bm90LWEtdG9rZW4=', dns })
    await tunnel.start().catch(() => undefined)
    await waitFor(() => tunnel.state === 'failed', 10_000, 'failed')
    dns.emit('failure')
    dns.emit('recovered')
    await sleep(300)
    expect(tunnel.state).toBe('failed')
    expect(tunnel.status().starts).toBe(1)
  })
})
