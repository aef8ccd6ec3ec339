import type { TunnelState } from '@scanner/tunnel'
import { fakeCloudflaredEnv, fakeCloudflaredPath } from '@scanner/tunnel/testing'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { nextEvent, stopAll, tempDir, tunnelFor, waitFor } from './helpers.js'

afterEach(stopAll)

describe('readiness', () => {
  it('restarts when no connection becomes ready within readyTimeoutMs', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('never-ready', { faultIntervalMs: 200 }),
      readyTimeoutMs: 1500,
      // The old run is stopped first (a replica would wait for readiness that never comes).
      restartStrategy: 'break-before-make',
    })
    const started = Date.now()
    const restarted = nextEvent(tunnel, 'restart', () => true, 30_000)
    await tunnel.start()
    expect(tunnel.state).toBe('starting')
    const restart = await restarted
    expect(restart.reason).toBe('not-ready')
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500)
    expect(tunnel.status().readyConnections).toBe(0)
  })

  it('goes degraded when every connection is lost, then restarts after readyTimeoutMs', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv(['lost-connections', 'normal'], {
        counterFile: join(tempDir(), 'starts'),
        crashAfterMs: 200,
      }),
      readyTimeoutMs: 1000,
      restartStrategy: 'break-before-make',
    })
    const states: TunnelState[] = []
    tunnel.onStateChange((e) => states.push(e.state))
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    await waitFor(() => tunnel.state === 'degraded', 10_000, 'degraded')
    expect(tunnel.status().readyConnections).toBe(0)
    const restart = await nextEvent(tunnel, 'restart')
    expect(restart.reason).toBe('not-ready')
    await waitFor(() => tunnel.state === 'running', 10_000, 'running again')
    expect(states).toEqual(
      expect.arrayContaining(['starting', 'running', 'degraded', 'backoff', 'running']),
    )
  })

  it('a restarted cloudflared is starting until ready, never degraded by the run before it', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv(['crash', 'normal'], {
        counterFile: join(tempDir(), 'starts'),
        crashAfterMs: 300,
      }),
    })
    const states: TunnelState[] = []
    tunnel.onStateChange((e) => states.push(e.state))
    await tunnel.start()
    await nextEvent(tunnel, 'restart')
    await waitFor(() => tunnel.state === 'running', 20_000, 'running again')
    expect(states).toEqual(['starting', 'running', 'backoff', 'starting', 'running'])
  })

  it('reports the quick-tunnel URL and the /ready count', async () => {
    const tunnel = tunnelFor({ token: undefined, url: 'http://127.0.0.1:3000' })
    const url = nextEvent(tunnel, 'url')
    await tunnel.start()
    expect((await url).url).toMatch(/^https:\/\/[a-z-]+\.trycloudflare\.com$/)
    const status = await tunnel.waitForReady({ timeoutMs: 10_000 })
    expect(status.kind).toBe('quick')
    expect(status.url).toBe(tunnel.url)
    await waitFor(() => tunnel.status().connectorId !== undefined, 5000, '/ready answer')
    expect(tunnel.status().readyConnections).toBe(1)
    expect(tunnel.status().metricsAddress).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it('runs a config-file tunnel', async () => {
    const { writeFileSync } = await import('node:fs')
    const config = join(tempDir(), 'config.yml')
    writeFileSync(
      config,
      'tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef\ncredentials-file: /dev/null\n',
    )
    const tunnel = tunnelFor({ token: undefined, configFile: config, bin: fakeCloudflaredPath })
    await tunnel.start()
    const status = await tunnel.waitForReady({ timeoutMs: 10_000 })
    expect(status.kind).toBe('config')
  })
})
