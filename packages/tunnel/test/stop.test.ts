import { isTunnelError } from '@scanner/tunnel'
import { fakeCloudflaredEnv } from '@scanner/tunnel/testing'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  alive,
  groupMembers,
  readPidFile,
  stopAll,
  tempDir,
  tunnelFor,
  waitFor,
} from './helpers.js'

afterEach(stopAll)

describe('stop', () => {
  it('kills a child that ignores SIGTERM and its grandchild after grace + margin', async () => {
    const pidFile = join(tempDir(), 'grandchild.pid')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', {
        ignoreSigterm: true,
        grandchild: true,
        grandchildPidFile: pidFile,
      }),
      gracePeriodMs: 500,
      killMarginMs: 300,
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    const pid = tunnel.pid!
    const grandchild = await readPidFile(pidFile)
    expect(alive(grandchild)).toBe(true)
    expect(groupMembers(pid).sort()).toEqual([pid, grandchild].sort())
    const started = Date.now()
    await tunnel.stop()
    // It waited the grace period plus the margin (a lower bound holds under any load), then
    // killed the group.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500 + 300 - 50)
    expect(groupMembers(pid)).toEqual([])
    expect(alive(pid)).toBe(false)
    expect(alive(grandchild)).toBe(false)
    expect(tunnel.state).toBe('stopped')
    expect(tunnel.status().lastExit?.signal).toBe('SIGKILL')
  })

  it('a second stop() during the wait forces the stop', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', { ignoreSigterm: true }),
      gracePeriodMs: 60_000,
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    const pid = tunnel.pid!
    const first = tunnel.stop()
    await waitFor(() => tunnel.state === 'stopping')
    const started = Date.now()
    await tunnel.stop()
    await first
    // Forced: far sooner than the 60 s grace period it would otherwise wait.
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(tunnel.status().lastExit?.signal).toBe('SIGKILL')
    expect(alive(pid)).toBe(false)
  })

  it('stops gracefully (exit 0 within the grace period), is idempotent, and cannot restart', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', { drainMs: 200 }),
      gracePeriodMs: 2000,
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    const started = Date.now()
    await Promise.all([tunnel.stop(), tunnel.stop()])
    // It waited for the drain, and exit code 0 says it ended within the grace period (a kill
    // after the grace period would be SIGKILL).
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect(tunnel.status().lastExit?.exitCode).toBe(0)
    await tunnel.stop()
    expect(tunnel.state).toBe('stopped')
    const error: unknown = await tunnel.start().catch((e: unknown) => e)
    expect(isTunnelError(error, 'ERR_TUNNEL_STOPPED')).toBe(true)
    expect(tunnel.status().restarts.total).toBe(0)
  })

  it('stops when the signal option aborts', async () => {
    const controller = new AbortController()
    const tunnel = tunnelFor({ signal: controller.signal })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    const pid = tunnel.pid!
    controller.abort()
    await waitFor(() => tunnel.state === 'stopped', 5000, 'stopped')
    expect(alive(pid)).toBe(false)
  })

  it('waitForReady rejects when the tunnel fails', async () => {
    const tunnel = tunnelFor({ token: 'malformed' })
    await tunnel.start()
    const error: unknown = await tunnel.waitForReady({ timeoutMs: 10_000 }).catch((e: unknown) => e)
    expect(isTunnelError(error, 'ERR_TUNNEL_FAILED')).toBe(true)
    expect((error as { reason: string }).reason).toBe('invalid-token')
  })
})
