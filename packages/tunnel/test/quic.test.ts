import type { TunnelLineEvent, TunnelRestartEvent } from '@scanner/tunnel'
import { fakeCloudflaredEnv } from '@scanner/tunnel/testing'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { nextEvent, stopAll, tempDir, tunnelFor, waitFor } from './helpers.js'

afterEach(stopAll)

describe('QUIC timeouts', () => {
  it('three incidents printed as twelve timeout lines (with the echoes) cause exactly one restart', async () => {
    const counterFile = join(tempDir(), 'starts')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv(['quic-timeouts', 'normal'], {
        counterFile,
        quicIncidents: 3,
        faultIntervalMs: 60,
      }),
      quicTimeouts: { threshold: 3, windowMs: 60_000 },
    })
    const quicLines: TunnelLineEvent[] = []
    const restarts: TunnelRestartEvent[] = []
    tunnel.onLine((e) => {
      if (e.event.kind === 'quic-timeout') quicLines.push(e)
    })
    tunnel.onRestart((e) => restarts.push(e))
    const restarted = nextEvent(tunnel, 'restart')
    await tunnel.start()
    const firstPid = tunnel.pid
    await restarted
    await waitFor(() => tunnel.state === 'running' && tunnel.pid !== firstPid, 10_000, 'second run')
    expect(quicLines).toHaveLength(12)
    expect(quicLines.filter((l) => l.event.incidentStart === true)).toHaveLength(3)
    expect(new Set(quicLines.map((l) => l.event.connIndex))).toEqual(new Set([0, 1, 2]))
    expect(restarts).toHaveLength(1)
    expect(restarts[0]!.reason).toBe('quic-timeouts')
    expect(tunnel.status().restarts.byReason['quic-timeouts']).toBe(1)
    expect(tunnel.status().quicIncidents).toBe(0)
  })

  it('two incidents do not restart', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('quic-timeouts', { quicIncidents: 2, faultIntervalMs: 60 }),
      quicTimeouts: { threshold: 3, windowMs: 60_000 },
    })
    let restarts = 0
    tunnel.onRestart(() => restarts++)
    // Listening before the start: on a loaded machine the line can come before start() resolves.
    const incidentsDone = nextEvent(tunnel, 'line', (e) => e.line.includes('QUIC incidents done'))
    await tunnel.start()
    await incidentsDone
    expect(restarts).toBe(0)
    expect(tunnel.status().quicIncidents).toBe(2)
    expect(tunnel.status().lastErrors.some((e) => e.kind === 'quic-timeout')).toBe(true)
  })

  it('switches to --protocol http2 after repeated QUIC restarts, and says so', async () => {
    const dir = tempDir()
    const record = join(dir, 'argv.json')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv(['quic-timeouts', 'quic-timeouts', 'normal'], {
        counterFile: join(dir, 'starts'),
        quicIncidents: 1,
        record,
      }),
      quicTimeouts: { threshold: 1, windowMs: 60_000 },
      protocolFallback: { restarts: 2, windowMs: 60_000 },
      // One start per scenario of the list (a replica would print its incident before it is
      // promoted, and a replica's output drives no policy).
      restartStrategy: 'break-before-make',
    })
    const restarts: TunnelRestartEvent[] = []
    tunnel.onRestart((e) => restarts.push(e))
    await tunnel.start()
    await waitFor(() => restarts.length === 2, 15_000, 'two QUIC restarts')
    expect(restarts.map((r) => [r.reason, r.protocol])).toEqual([
      ['quic-timeouts', 'auto'],
      ['quic-timeouts', 'http2'],
    ])
    await waitFor(
      () => tunnel.state === 'running' && tunnel.status().starts === 3,
      10_000,
      'third run',
    )
    const argv = (JSON.parse(readFileSync(record, 'utf8')) as { argv: string[] }).argv
    expect(argv.join(' ')).toContain('--protocol http2')
    const status = tunnel.status()
    expect(status.protocol).toBe('http2')
    expect(status.protocolFallback).toBe(true)
    expect(status.activeProtocol).toBe('http2')
  })

  it('does not fall back when the protocol was forced to quic', async () => {
    const dir = tempDir()
    const tunnel = tunnelFor({
      protocol: 'quic',
      env: fakeCloudflaredEnv(['quic-timeouts', 'quic-timeouts', 'normal'], {
        counterFile: join(dir, 'starts'),
        quicIncidents: 1,
      }),
      quicTimeouts: { threshold: 1, windowMs: 60_000 },
      restartStrategy: 'break-before-make',
    })
    await tunnel.start()
    await waitFor(() => tunnel.status().restarts.total === 2, 15_000, 'two QUIC restarts')
    expect(tunnel.status().protocol).toBe('quic')
    expect(tunnel.status().protocolFallback).toBe(false)
  })
})
