import { fakeCloudflaredEnv } from '@scanner/tunnel/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeDns, nextEvent, recordingLogger, stopAll, tunnelFor, waitFor } from './helpers.js'

afterEach(stopAll)

describe('DNS monitor', () => {
  it('restarts a tunnel that is not ready once per DNS failure episode', async () => {
    const dns = new FakeDns()
    const logger = recordingLogger()
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('never-ready'),
      readyTimeoutMs: 60_000,
      restartStrategy: 'break-before-make',
      dns,
      logger,
    })
    // Logged synchronously by every restart request.
    const requests = (): number =>
      logger.records.filter((r) => r.msg === 'stopping cloudflared to restart it').length
    let restarts = 0
    tunnel.onRestart((e) => {
      if (e.reason === 'dns') restarts++
    })
    await tunnel.start()
    const firstPid = tunnel.pid
    dns.emit('failure')
    dns.emit('failure')
    expect(requests()).toBe(1)
    await waitFor(() => tunnel.pid !== undefined && tunnel.pid !== firstPid, 10_000, 'new start')
    dns.emit('failure')
    expect(requests()).toBe(1)
    expect(restarts).toBe(1)
    dns.emit('recovered')
    dns.emit('failure')
    expect(requests()).toBe(2)
    await waitFor(() => restarts === 2, 10_000, 'second dns restart')
  })

  it('does not restart a ready tunnel on a DNS failure', async () => {
    const dns = new FakeDns()
    const tunnel = tunnelFor({ dns })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    dns.emit('failure')
    expect(tunnel.status().restarts.total).toBe(0)
    expect(tunnel.status().dns).toBe('dns-failure')
  })

  it('holds restarts while the network is down instead of looping, then resumes', async () => {
    const dns = new FakeDns()
    dns.emit('network-down')
    const logger = recordingLogger()
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('dns-failure', { exitAfterMs: 20 }),
      backoff: { initialDelayMs: 50, factor: 2, maxDelayMs: 200, jitter: 'none' },
      maxCrashes: 2,
      dns,
      logger,
    })
    const restarted = nextEvent(tunnel, 'restart')
    await tunnel.start()
    await restarted
    const held = (): number => logger.records.filter((r) => r.msg?.includes('on hold')).length
    await waitFor(() => held() >= 3, 10_000, 'restart held three times')
    let status = tunnel.status()
    expect(status.state).toBe('backoff')
    expect(status.hold).toBe('network-down')
    expect(status.starts).toBe(1)
    expect(status.failure).toBeUndefined()
    dns.emit('recovered')
    await waitFor(() => tunnel.status().starts >= 2, 10_000, 'start after recovery')
    status = tunnel.status()
    expect(status.hold).toBeUndefined()
    await tunnel.stop()
    expect(dns.listeners()).toBe(0)
  })
})
