import { isTunnelError } from '@scanner/tunnel'
import type { TunnelRestartEvent } from '@scanner/tunnel'
import { fakeCloudflaredEnv } from '@scanner/tunnel/testing'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { nextEvent, stopAll, tempDir, tunnelFor, waitFor } from './helpers.js'

afterEach(stopAll)

describe('exit and backoff', () => {
  it('restarts a crash loop with exact backoff delays, then gives up with the last lines', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('exit', { exitAfterMs: 30, exitCode: 1 }),
      backoff: { initialDelayMs: 100, factor: 2, maxDelayMs: 10_000, jitter: 'none' },
    })
    const restarts: TunnelRestartEvent[] = []
    tunnel.onRestart((e) => restarts.push(e))
    const failed = nextEvent(tunnel, 'failed', () => true, 20_000)
    await tunnel.start()
    const failure = await failed
    expect(restarts.map((r) => [r.reason, r.delayMs])).toEqual([
      ['exit', 100],
      ['exit', 200],
      ['exit', 400],
      ['exit', 800],
    ])
    expect(failure.reason).toBe('crash-loop')
    expect(tunnel.state).toBe('failed')
    const status = tunnel.status()
    expect(status.starts).toBe(5)
    expect(status.failure?.reason).toBe('crash-loop')
    expect(status.lastLines.length).toBeGreaterThan(5)
    expect(status.lastLines.length).toBeLessThanOrEqual(50)
    expect(status.lastLines.join('\n')).toContain('Initiating shutdown')
    expect(status.pid).toBeUndefined()
  })

  it('resets the backoff after a stable run', async () => {
    const counterFile = join(tempDir(), 'starts')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv(['exit', 'exit', 'crash', 'exit', 'exit', 'normal'], {
        counterFile,
        exitAfterMs: 30,
        crashAfterMs: 700,
      }),
      backoff: {
        initialDelayMs: 100,
        factor: 2,
        maxDelayMs: 10_000,
        jitter: 'none',
        resetAfterMs: 500,
      },
    })
    const restarts: TunnelRestartEvent[] = []
    tunnel.onRestart((e) => restarts.push(e))
    await tunnel.start()
    await waitFor(() => restarts.length >= 5, 15_000, 'five restarts')
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    expect(restarts.map((r) => r.delayMs)).toEqual([100, 200, 100, 200, 400])
    expect(tunnel.status().restarts.byReason.exit).toBe(5)
    expect(tunnel.state).toBe('running')
  })

  it('restarts at once after a self-update (exit 11)', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('self-update', { crashAfterMs: 100 }),
      backoff: { initialDelayMs: 5000, jitter: 'none' },
    })
    const restarted = nextEvent(tunnel, 'restart')
    await tunnel.start()
    const restart = await restarted
    expect(restart).toMatchObject({ reason: 'self-update', delayMs: 0, exitCode: 11 })
  })

  it('fails at once on a malformed token (exit 255)', async () => {
    const tunnel = tunnelFor({ token: 'not-a-valid-token' })
    const failed = nextEvent(tunnel, 'failed')
    await tunnel.start()
    const failure = await failed
    expect(failure.reason).toBe('invalid-token')
    expect(failure.lastLines).toContain('Provided Tunnel token is not valid.')
    expect(failure.message).not.toContain('not-a-valid-token')
    expect(tunnel.status().starts).toBe(1)
    expect(tunnel.status().restarts.total).toBe(0)
  })

  it('fails on a usage error (Incorrect Usage on stdout, exit 0)', async () => {
    const tunnel = tunnelFor({ args: ['--bogus-flag'] })
    const failed = nextEvent(tunnel, 'failed')
    await tunnel.start()
    const failure = await failed
    expect(failure.reason).toBe('usage-error')
    expect(failure.lastLines.join('\n')).toContain('Incorrect Usage')
    expect(tunnel.status().restarts.total).toBe(0)
  })

  it('fails on an exit 0 before any connection registered', async () => {
    const tunnel = tunnelFor({ env: fakeCloudflaredEnv('exit', { exitCode: 0, exitAfterMs: 20 }) })
    const failed = nextEvent(tunnel, 'failed')
    await tunnel.start()
    expect((await failed).reason).toBe('usage-error')
  })

  it('fails after repeated Unauthorized and stops the process', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('unauthorized', { faultIntervalMs: 50 }),
      maxAuthFailures: 3,
    })
    const failed = nextEvent(tunnel, 'failed')
    await tunnel.start()
    const pid = tunnel.pid!
    const failure = await failed
    expect(failure.reason).toBe('unauthorized')
    expect(failure.message).toContain('Unauthorized: Invalid tunnel secret')
    expect(tunnel.status().authFailures).toBe(3)
    expect(tunnel.state).toBe('failed')
    expect(() => process.kill(pid, 0)).toThrow()
  })

  it('fails at once with install instructions when the binary is missing or not executable', async () => {
    const dir = tempDir()
    const notExecutable = join(dir, 'cloudflared')
    writeFileSync(notExecutable, '#!/bin/sh\nexit 0\n')
    chmodSync(notExecutable, 0o644)
    for (const bin of [join(dir, 'missing'), notExecutable]) {
      const tunnel = tunnelFor({ bin })
      const error: unknown = await tunnel.start().catch((e: unknown) => e)
      expect(isTunnelError(error, 'ERR_TUNNEL_BIN_NOT_FOUND')).toBe(true)
      expect((error as Error).message).toContain('Install cloudflared')
      expect(tunnel.state).toBe('failed')
      expect(tunnel.status().failure?.reason).toBe('binary-not-found')
    }
  })
})
