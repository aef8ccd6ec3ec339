import { existsSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEMO_FAULTS, createDemoSimulatorFiles, startDemoFaults } from './demo.js'

describe('startDemoFaults', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('injects the faults in turn, only while the tunnel runs', async () => {
    vi.useFakeTimers()
    const files = createDemoSimulatorFiles()
    const tunnel = { state: 'running' }
    const lines: string[] = []
    const stop = startDemoFaults({ files, tunnel, intervalMs: 1000, print: (l) => lines.push(l) })
    try {
      expect(files.env.FAKE_CLOUDFLARED_SCENARIO).toBe('normal,dns-failure,normal')
      expect(readFileSync(files.counterFile, 'utf8')).toBe('2')
      await vi.advanceTimersByTimeAsync(1000)
      expect(readFileSync(files.controlFile, 'utf8')).toBe('quic 0\nquic 1\nquic 2\n')
      tunnel.state = 'backoff'
      await vi.advanceTimersByTimeAsync(1000)
      expect(lines).toHaveLength(1)
      tunnel.state = 'running'
      await vi.advanceTimersByTimeAsync(3000)
      expect(lines.map((l) => /fault (\d)\/4: ([^(]+)/.exec(l)?.slice(1).join(' ').trim())).toEqual(
        DEMO_FAULTS.map((f, i) => `${i + 1} ${f.name}`),
      )
      expect(readFileSync(files.counterFile, 'utf8')).toBe('1') // next start: dns-failure
      expect(readFileSync(files.controlFile, 'utf8')).toContain('lose all\ndns-refresh\ncrash 1\n')
    } finally {
      stop()
      files.remove()
      files.remove()
    }
    expect(existsSync(files.dir)).toBe(false)
  })
})
