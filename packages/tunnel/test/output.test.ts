import { fakeCloudflaredEnv } from '@scanner/tunnel/testing'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { stopAll, tempDir, tunnelFor } from './helpers.js'

afterEach(stopAll)

const GiB = 1024 * 1024 * 1024
const flood = fileURLToPath(new URL('./fixtures/flood.mjs', import.meta.url))

describe('output', () => {
  it('a 1 GB output flood retains no memory (heap + external after a full GC)', async () => {
    // Measured in a process of its own (a test worker's memory moves with everything else it
    // runs), with --expose-gc so that the bound is on what is kept after a full collection, not
    // on when V8 happened to collect under load. Resident memory is only a generous ceiling that
    // a real leak would cross.
    const control = join(tempDir(), 'control')
    const child = spawn(
      process.execPath,
      [
        '--max-semi-space-size=16',
        '--expose-gc',
        '--conditions=@scanner/source',
        '--import',
        'tsx',
        flood,
        control,
        String(32 * 1024 * 1024), // warm-up: V8 sizes its young generation once
        String(GiB),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(0)
    const result = JSON.parse(out) as {
      retainedBefore: number
      retainedAfter: number
      before: number
      peak: number
      lines: number
      lastLines: number
      state: string
    }
    expect(result.lines).toBeGreaterThan(GiB / 4096)
    // What is kept: the last 50 lines of at most 16 KB and the classifier's state.
    expect(result.retainedAfter - result.retainedBefore).toBeLessThan(8 * 1024 * 1024)
    // Ceiling only (peak resident memory moves with GC timing and load): keeping a quarter of the
    // gigabyte would cross it.
    expect(result.peak - result.before).toBeLessThan(256 * 1024 * 1024)
    expect(result.lastLines).toBe(50)
    expect(result.state).toBe('running')
  }, 120_000)

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
