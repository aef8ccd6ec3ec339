import { tunnelCheck, tunnelHealth } from '@scanner/tunnel'
import { fakeCloudflaredEnv } from '@scanner/tunnel/testing'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { nextEvent, stopAll, tempDir, tunnelFor, waitFor } from './helpers.js'

afterEach(stopAll)

describe('observability', () => {
  it('exports prom-client metrics on the registry it is given', async () => {
    const registry = new Registry()
    const tunnel = tunnelFor({
      metrics: registry,
      env: fakeCloudflaredEnv(['quic-timeouts', 'normal'], {
        quicIncidents: 2,
        counterFile: join(tempDir(), 'starts'),
      }),
    })
    // Listening before the start: on a loaded machine the line can come before start() resolves.
    const incidentsDone = nextEvent(tunnel, 'line', (e) => e.line.includes('QUIC incidents done'))
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    await incidentsDone
    await waitFor(() => tunnel.status().readyConnections === 4, 5000, '4 ready connections')
    expect(tunnel.restart()).toBe(true)
    await nextEvent(tunnel, 'restart')
    await waitFor(() => tunnel.state === 'running' && tunnel.status().readyConnections === 4)
    const text = await registry.metrics()
    expect(text).toContain('scanner_tunnel_restarts_total{tunnel="tunnel",reason="manual"} 1')
    expect(text).toContain('scanner_tunnel_quic_timeouts_total{tunnel="tunnel"} 2')
    expect(text).toContain('scanner_tunnel_ready_connections{tunnel="tunnel"} 4')
    expect(text).toContain('scanner_tunnel_state{tunnel="tunnel",state="running"} 1')
    expect(text).toContain('scanner_tunnel_state{tunnel="tunnel",state="failed"} 0')
    expect(text).toContain('scanner_tunnel_dns_failures_total')
  })

  it('tunnelCheck reports the state in the core HealthCheck shape', async () => {
    const tunnel = tunnelFor()
    const check = tunnelCheck(tunnel, { name: 'cloudflare-tunnel' })
    expect(check).toMatchObject({ name: 'cloudflare-tunnel', critical: false })
    const signal = new AbortController().signal
    expect(await check.run(signal)).toMatchObject({ status: 'unhealthy', state: 'stopped' })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    const details = await check.run(signal)
    expect(details).toMatchObject({
      status: 'healthy',
      state: 'running',
      protocol: 'quic',
      restarts: 0,
      pid: tunnel.pid,
      url: null,
    })
    expect(details.ready_connections).toBeGreaterThanOrEqual(1)
    expect(details.error).toBeUndefined()
    expect(tunnelHealth('degraded')).toBe('degraded')
    expect(tunnelHealth('backoff')).toBe('degraded')
    expect(tunnelHealth('failed')).toBe('unhealthy')
    expect(JSON.parse(JSON.stringify(tunnel)).state).toBe('running')
  })

  it('tunnelCheck is unhealthy with the failure message once the tunnel failed', async () => {
    const tunnel = tunnelFor({ token: 'bad' })
    const failed = nextEvent(tunnel, 'failed')
    await tunnel.start()
    await failed
    const details = await tunnelCheck(tunnel).run(new AbortController().signal)
    expect(details.status).toBe('unhealthy')
    expect(details.error).toContain('token')
  })
})
