import { createTunnel } from '@scanner/tunnel'
import {
  fakeCloudflaredEnv,
  fakeCloudflaredPath,
  fakeCloudflaredToken,
} from '@scanner/tunnel/testing'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { alive, groupMembers, readPidFile, removeTempDirs, tempDir, waitFor } from './helpers.js'

/** The pids a pid file records. */
function recordedPids(pidFile: string): number[] {
  const record = JSON.parse(readFileSync(pidFile, 'utf8')) as { processes: { pid: number }[] }
  return record.processes.map((p) => p.pid)
}

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
  it('SIGKILL of the supervising process leaves no cloudflared running (pdeathsig alone)', async () => {
    const { child, pid } = await startSupervisor({
      pidFile: join(tempDir(), 'cf.pid'),
      keeper: false,
    })
    strays.push(pid)
    expect(alive(pid)).toBe(true)
    child.kill('SIGKILL')
    // Immediate in practice; the bound only allows for a loaded machine.
    await waitFor(() => !alive(pid), 15_000, 'cloudflared to die')
  }, 180_000)

  it('SIGKILL of the supervisor: nothing of the group (grandchild included) remains', async () => {
    const dir = tempDir()
    const grandchildPidFile = join(dir, 'helper.pid')
    for (const pdeathsig of [true, false]) {
      const { child, pid } = await startSupervisor({
        pidFile: join(dir, `cf-${String(pdeathsig)}.pid`),
        pdeathsig,
        env: fakeCloudflaredEnv('normal', { grandchild: true, grandchildPidFile }),
      })
      strays.push(pid)
      const helper = await readPidFile(grandchildPidFile)
      expect(groupMembers(pid)).toContain(helper)
      child.kill('SIGKILL')
      // The keeper sees the pipe close and kills the group; within about 3 s even on a busy machine.
      await waitFor(() => groupMembers(pid).length === 0, 15_000, 'the group to die')
      expect(alive(helper)).toBe(false)
      expect(alive(pid)).toBe(false)
    }
  }, 180_000)

  it('the next start kills what is left of a stale group (leader dead, grandchild alive)', async () => {
    const dir = tempDir()
    const pidFile = join(dir, 'cf.pid')
    const grandchildPidFile = join(dir, 'helper.pid')
    // A cloudflared with a helper, left by a supervisor that is gone (owner 999999).
    const leader = spawn(process.execPath, [fakeCloudflaredPath, 'tunnel', 'run'], {
      detached: true,
      stdio: 'ignore',
      env: {
        ...process.env,
        TUNNEL_TOKEN: fakeCloudflaredToken(),
        ...fakeCloudflaredEnv('normal', { grandchild: true, grandchildPidFile }),
      },
    })
    const pid = leader.pid ?? 0
    strays.push(pid)
    const helper = await readPidFile(grandchildPidFile)
    const startTime = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19]
    writeFileSync(
      pidFile,
      JSON.stringify({
        owner: 999999,
        processes: [{ pid, pgid: pid, startTime, command: fakeCloudflaredPath }],
      }),
    )
    leader.kill('SIGKILL')
    await waitFor(() => !alive(pid), 10_000, 'the leader to die')
    expect(alive(helper)).toBe(true)

    const tunnel = createTunnel({
      bin: fakeCloudflaredPath,
      token: fakeCloudflaredToken(),
      pidFile,
      gracePeriodMs: 500,
    })
    try {
      await tunnel.start()
      expect(alive(helper)).toBe(false)
      expect(groupMembers(pid)).toEqual([])
    } finally {
      await tunnel.stop()
    }
  }, 180_000)

  it('no pid file is left after stop(), over many quick exits', async () => {
    const dir = tempDir()
    for (let i = 0; i < 25; i++) {
      const pidFile = join(dir, `quick-${String(i)}.pid`)
      const tunnel = createTunnel({
        bin: fakeCloudflaredPath,
        // Malformed token: cloudflared exits 255 within milliseconds.
        token: i % 2 === 0 ? 'bm90LWEtdG9rZW4=' : fakeCloudflaredToken(),
        env: fakeCloudflaredEnv('exit', { exitAfterMs: 0 }),
        pidFile,
        maxCrashes: 1,
        recoveryProbe: false,
      })
      await tunnel.start().catch(() => undefined)
      await waitFor(() => tunnel.state === 'failed', 10_000, 'failed')
      await tunnel.stop()
      expect(existsSync(pidFile)).toBe(false)
    }
  }, 120_000)

  it('finds a stale cloudflared from the pid file at the next start and stops it', async () => {
    const pidFile = join(tempDir(), 'cf.pid')
    // Without pdeathsig and keeper the child survives its supervisor's SIGKILL (as where neither
    // is available), until it next writes a log line: like Go's cloudflared, the simulator dies
    // of the broken pipe then. At `error` level it writes nothing once it runs (CI: at load, the
    // last startup lines came after the supervisor's death and the stale process was gone).
    const { child, pid } = await startSupervisor({
      pidFile,
      pdeathsig: false,
      keeper: false,
      logLevel: 'error',
    })
    strays.push(pid)
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    expect(alive(pid)).toBe(true)
    expect(recordedPids(pidFile)).toEqual([pid])

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
      expect(recordedPids(pidFile)).toEqual([tunnel.pid])
    } finally {
      await tunnel.stop()
    }
  }, 180_000)

  it('never kills an unrelated process named by a stale pid file', async () => {
    const pidFile = join(tempDir(), 'cf.pid')
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' })
    children.push(sleeper)
    // Same pid, wrong start time and command: a recycled pid.
    writeFileSync(
      pidFile,
      JSON.stringify({
        owner: 999999,
        processes: [
          { pid: sleeper.pid, pgid: sleeper.pid, startTime: '1', command: fakeCloudflaredPath },
        ],
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
