import { createTunnel } from '@scanner/tunnel'
import {
  fakeCloudflaredEnv,
  fakeCloudflaredPath,
  fakeCloudflaredToken,
} from '@scanner/tunnel/testing'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { alive, removeTempDirs, tempDir, waitFor } from './helpers.js'

const supervise = fileURLToPath(new URL('./fixtures/supervise.mjs', import.meta.url))
const packageDir = fileURLToPath(new URL('..', import.meta.url))
const children: ChildProcess[] = []
const strays: number[] = []

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
  for (const pid of strays.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  removeTempDirs()
})

/** Starts a supervisor in another process; resolves with it and the cloudflared pid. */
function startSupervisor(options: object): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@scanner/source', '--import', 'tsx', supervise, JSON.stringify(options)],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /PID (\d+)/.exec(out)
      if (m) resolve({ child, pid: Number(m[1]) })
    })
    child.once('exit', (code) => {
      reject(new Error(`supervisor exited with ${String(code)}: ${out}`))
    })
  })
}

describe('no orphans', () => {
  it('SIGKILL of the supervising process leaves no cloudflared running within 2 s', async () => {
    const { child, pid } = await startSupervisor({ pidFile: join(tempDir(), 'cf.pid') })
    strays.push(pid)
    expect(alive(pid)).toBe(true)
    child.kill('SIGKILL')
    const killedAt = Date.now()
    await waitFor(() => !alive(pid), 2000, 'cloudflared to die')
    expect(Date.now() - killedAt).toBeLessThanOrEqual(2000)
  }, 30_000)

  it('finds a stale cloudflared from the pid file at the next start and stops it', async () => {
    const pidFile = join(tempDir(), 'cf.pid')
    // Without pdeathsig the child survives its supervisor's SIGKILL (as on platforms without setpriv).
    const { child, pid } = await startSupervisor({ pidFile, pdeathsig: false })
    strays.push(pid)
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    expect(alive(pid)).toBe(true)
    expect(JSON.parse(readFileSync(pidFile, 'utf8')).pid).toBe(pid)

    const tunnel = createTunnel({
      bin: fakeCloudflaredPath,
      token: fakeCloudflaredToken(),
      pidFile,
      env: fakeCloudflaredEnv('normal'),
      gracePeriodMs: 500,
    })
    try {
      await tunnel.start()
      expect(alive(pid)).toBe(false)
      await tunnel.waitForReady({ timeoutMs: 10_000 })
      expect(JSON.parse(readFileSync(pidFile, 'utf8')).pid).toBe(tunnel.pid)
    } finally {
      await tunnel.stop()
    }
  }, 30_000)

  it('never kills an unrelated process named by a stale pid file', async () => {
    const pidFile = join(tempDir(), 'cf.pid')
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' })
    children.push(sleeper)
    // Same pid, wrong start time and command: a recycled pid.
    writeFileSync(
      pidFile,
      JSON.stringify({
        pid: sleeper.pid,
        startTime: '1',
        command: fakeCloudflaredPath,
        owner: 999999,
      }),
    )
    const tunnel = createTunnel({
      bin: fakeCloudflaredPath,
      token: fakeCloudflaredToken(),
      pidFile,
    })
    try {
      await tunnel.start()
      expect(alive(sleeper.pid!)).toBe(true)
    } finally {
      await tunnel.stop()
    }
  })
})
