import { existsSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { noopLogger, type Logger } from '@scanner/core'
import { createTunnel, type TunnelRestartEvent } from '@scanner/tunnel'
import { fakeCloudflaredPath, fakeCloudflaredToken } from '@scanner/tunnel/testing'
import { DEMO_FAULTS, createDemoSimulatorFiles, demoBackoff, startDemoFaults } from './demo.js'
import { SIMULATED_URL_NOTE, demoTunnelLogger } from './demo-output.js'

describe('startDemoFaults', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('injects the faults in turn, only after the tunnel ran stable, the DNS outage through dns', async () => {
    vi.useFakeTimers()
    const files = createDemoSimulatorFiles()
    const tunnel = { state: 'running' }
    const lines: string[] = []
    let outages = 0
    const stop = startDemoFaults({
      files,
      tunnel,
      intervalMs: 1000,
      print: (l) => lines.push(l),
      dns: {
        outage: () => {
          outages++
        },
      },
    })
    try {
      expect(files.env.FAKE_CLOUDFLARED_SCENARIO).toBe('normal,dns-failure,normal')
      expect(readFileSync(files.counterFile, 'utf8')).toBe('2')
      await vi.advanceTimersByTimeAsync(1250)
      expect(readFileSync(files.controlFile, 'utf8')).toBe('quic 0\nquic 0\nquic 0\n')
      // Recovering: no fault, and the stable time counts again from the next `running`.
      tunnel.state = 'backoff'
      await vi.advanceTimersByTimeAsync(2000)
      expect(lines).toHaveLength(1)
      tunnel.state = 'running'
      await vi.advanceTimersByTimeAsync(500) // running for 250 ms of the 500 ms it needs
      expect(lines).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(4000)
      expect(lines.map((l) => /fault (\d)\/5: ([^(]+)/.exec(l)?.slice(1).join(' ').trim())).toEqual(
        DEMO_FAULTS.map((f, i) => `${String(i + 1)} ${f.name}`),
      )
      expect(readFileSync(files.counterFile, 'utf8')).toBe('1') // next start: dns-failure
      expect(readFileSync(files.controlFile, 'utf8')).toContain('lose all\ndns-refresh\ncrash 1\n')
      expect(outages).toBe(1)
    } finally {
      stop()
      files.remove()
      files.remove()
    }
    expect(existsSync(files.dir)).toBe(false)
  })

  it('skips the resolver outage without the demo DNS', async () => {
    vi.useFakeTimers()
    const files = createDemoSimulatorFiles()
    const lines: string[] = []
    const stop = startDemoFaults({
      files,
      tunnel: { state: 'running' },
      intervalMs: 1000,
      print: (l) => lines.push(l),
    })
    await vi.advanceTimersByTimeAsync(5000)
    stop()
    files.remove()
    expect(lines.length).toBeGreaterThanOrEqual(4)
    expect(lines.every((l) => l.includes('/4: '))).toBe(true)
    expect(lines.some((l) => l.includes('resolver outage'))).toBe(false)
  })
})

describe('demoBackoff', () => {
  it('resets after half the fault interval and keeps every restart delay short', () => {
    expect(demoBackoff(8000)).toEqual({
      initialDelayMs: 500,
      factor: 2,
      maxDelayMs: 4000,
      jitter: 'equal',
      resetAfterMs: 4000,
    })
    expect(demoBackoff(100).resetAfterMs).toBe(500)
    expect(demoBackoff(600_000).resetAfterMs).toBe(60_000)
  })

  it('every fault of a round recovers after a short delay: the backoff resets between faults', async () => {
    const files = createDemoSimulatorFiles()
    const intervalMs = 1500
    const tunnel = createTunnel({
      bin: fakeCloudflaredPath,
      token: fakeCloudflaredToken(),
      env: { ...files.env, FAKE_CLOUDFLARED_CONN_INTERVAL_MS: '20' },
      backoff: demoBackoff(intervalMs),
      readyTimeoutMs: 1000,
      gracePeriodMs: 500,
      pidFile: false,
      handover: { readyConnections: 4 },
    })
    const restarts: { at: number; event: TunnelRestartEvent }[] = []
    // What happened, for the failure message: faults, restarts, and every change of the state,
    // pid or ready connections the fault injector gates on.
    const timeline: string[] = []
    const t0 = performance.now()
    const note = (line: string): void => {
      timeline.push(`${(performance.now() - t0).toFixed(0).padStart(6)} ms ${line}`)
    }
    tunnel.onRestart((event) => {
      restarts.push({ at: performance.now(), event })
      note(`restart ${JSON.stringify(event)}`)
    })
    tunnel.on('handover', (event) => {
      note(`handover ${event.phase} ${event.message ?? ''}`)
    })
    let seen = ''
    const watch = setInterval(() => {
      const now = `${tunnel.state} pid ${String(tunnel.pid)} ready ${String(tunnel.status().readyConnections)}`
      if (now !== seen) note((seen = now))
    }, 50)
    const faults: number[] = []
    await tunnel.start()
    const stop = startDemoFaults({
      files,
      // As the deployment wires it: the state, the current pid and the ready connections.
      tunnel: {
        get state() {
          return tunnel.state
        },
        get pid() {
          return tunnel.pid
        },
        get readyConnections() {
          return tunnel.status().readyConnections
        },
      },
      intervalMs,
      print: (line) => {
        faults.push(performance.now())
        note(line.slice(0, 50))
      },
    })
    try {
      // One round of the four faults and the first again: each takes about 2.5 s, at load 10 too.
      await expect
        .poll(() => faults.length, { timeout: 150_000, interval: 100 })
        .toBeGreaterThanOrEqual(4 + 1)
    } catch (error) {
      throw new Error(`${String(faults.length)} of 5 faults injected:\n${timeline.join('\n')}`, {
        cause: error,
      })
    } finally {
      clearInterval(watch)
      stop()
      await tunnel.stop()
      files.remove()
    }
    // Each fault met a backoff reset by the stable run before it: the first restart after
    // every fault waits at most the first step (0.5 s) or is a make-before-break handover
    // (no wait). Later restarts of the same fault (a DNS-failure start that never becomes
    // ready; more of them on a loaded machine) take the next steps, never past the cap.
    const settled = faults.slice(0, -1) // the last fault may still be recovering at stop()
    expect(restarts.length).toBeGreaterThanOrEqual(settled.length)
    for (const at of settled) {
      const first = restarts.find((r) => r.at > at)
      expect(first, `no restart after the fault at ${at.toFixed(0)} ms`).toBeDefined()
      expect(first?.event.delayMs).toBeLessThanOrEqual(500)
    }
    expect(restarts.some((r) => r.event.strategy === 'make-before-break')).toBe(true)
    expect(Math.max(...restarts.map((r) => r.event.delayMs))).toBeLessThanOrEqual(4000)
  }, 180_000)
})

describe('demoTunnelLogger', () => {
  it('shows the first start, then summarises routine lines, errors once per kind, marks simulated URLs', () => {
    const out: { module: unknown; level: string; args: unknown[] }[] = []
    const make = (bindings: Record<string, unknown>): Logger => {
      const at =
        (level: string) =>
        (...args: unknown[]): void => {
          out.push({ module: bindings.module, level, args })
        }
      return {
        ...noopLogger,
        debug: at('debug'),
        info: at('info'),
        warn: at('warn'),
        error: at('error'),
        child: (more) => make({ ...bindings, ...more }),
      }
    }
    const logger = demoTunnelLogger(make({}))
    const cloudflared = logger.child({ module: 'cloudflared', tunnel: 'tunnel' })
    const supervisor = logger.child({ module: 'tunnel' })
    const url = 'https://organisms-river-pixel-deck.trycloudflare.com'
    const start = (): void => {
      cloudflared.info({ kind: 'other' }, 'INF Requesting new quick Tunnel on trycloudflare.com...')
      cloudflared.info({ kind: 'quick-tunnel-url' }, `INF |  ${url}  |`)
      cloudflared.info(
        { kind: 'connection-registered', connIndex: 0 },
        'INF Registered tunnel connection',
      )
    }
    start()
    supervisor.info({ url }, 'quick tunnel URL')
    expect(out).toHaveLength(4)
    expect(out[1]?.args[1]).toBe(`INF |  ${url}  | ${SIMULATED_URL_NOTE}`)
    expect(out[3]?.args[0]).toEqual({ url: `${url} (simulated)` })
    out.length = 0
    for (let i = 0; i < 3; i++) {
      cloudflared.error({ kind: 'quic-timeout', connIndex: i }, 'ERR failed to accept QUIC stream')
      cloudflared.info({ kind: 'connection-registered', connIndex: i }, 'INF reconnected')
      cloudflared.error({ kind: 'connection-lost', connIndex: i }, 'ERR Serve tunnel error')
      cloudflared.info({ kind: 'retrying', connIndex: i }, 'INF Retrying connection in up to 1s')
    }
    supervisor.info({ start: 2 }, 'cloudflared started')
    start()
    expect(out.map((o) => [o.level, o.args[1]])).toEqual([
      ['error', 'ERR failed to accept QUIC stream'],
      ['error', 'ERR Serve tunnel error'],
      ['info', 'cloudflared started'],
      [
        'info',
        'connected again (12 routine simulator lines since the fault hidden; errors are shown once per kind)',
      ],
    ])
  })
})
