import { fakeCloudflaredEnv, sendFakeCloudflaredCommand } from '@scanner/tunnel/testing'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { countingLogger, stopAll, tempDir, tunnelFor, waitFor } from './helpers.js'

afterEach(stopAll)

const GiB = 1024 * 1024 * 1024

describe('output', () => {
  it('a 1 GB output flood leaves resident memory within 50 MB of where it started', async () => {
    const logger = countingLogger()
    const control = join(tempDir(), 'control')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', { control, floodLineBytes: 4096 }),
      logger,
      logLevel: 'debug',
      readyTimeoutMs: 120_000,
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    const flooded = (bytes: number): boolean =>
      tunnel.status().lastLines.some((l) => l.includes(`flood complete bytes=${bytes}`))
    // Warm-up: the first fast producer makes V8 size its young generation for the allocation
    // rate (semi-spaces up to 2 x 16 MB) and lets up to ~30 MB of already-read pipe buffers wait
    // for the next scavenge. That one-off sizing is the same for 32 MB or 1 GB; the measurement
    // below shows what the volume itself costs.
    await sendFakeCloudflaredCommand(control, `flood ${32 * 1024 * 1024}`)
    await waitFor(() => flooded(32 * 1024 * 1024), 30_000, 'the end of the warm-up flood')
    const before = process.memoryUsage().rss
    const logged = logger.count
    await sendFakeCloudflaredCommand(control, `flood ${GiB}`)
    await waitFor(() => flooded(GiB), 50_000, 'the end of the flood')
    const after = process.memoryUsage().rss
    expect(logger.count - logged).toBeGreaterThan(GiB / 4096)
    expect(after - before).toBeLessThan(50 * 1024 * 1024)
    expect(tunnel.status().lastLines.length).toBe(50)
    expect(tunnel.state).toBe('running')
  }, 60_000)

  it('survives invalid UTF-8, control characters and a 2 MiB line', async () => {
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('garbage', { garbageLineBytes: 2 * 1024 * 1024 }),
      maxLineLength: 4096,
    })
    const lines: string[] = []
    tunnel.onLine((e) => lines.push(e.line))
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    expect(lines.some((l) => l.includes('\uFFFD'))).toBe(true)
    expect(lines.some((l) => l.length === 4096 && l.startsWith('aaaa'))).toBe(true)
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(4096)
    expect(tunnel.state).toBe('running')
  })
})
