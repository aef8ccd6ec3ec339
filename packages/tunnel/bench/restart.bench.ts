/**
 * Restart latency of the tunnel supervisor with zero backoff: from the moment it sees
 * cloudflared exit to the new child spawned, as a ratio to a bare `child_process.spawn()` of
 * the same simulator (call to 'spawn' event), measured in the same run.
 *
 * Run: pnpm bench restart (or, from packages/tunnel:
 * node --conditions=@scanner/source --import tsx bench/restart.bench.ts)
 */
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTunnel } from '../src/index.js'
import { fakeCloudflaredEnv, fakeCloudflaredPath, fakeCloudflaredToken } from '../src/testing.js'

const ROUNDS = 30

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

async function bareSpawn(): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now()
    const child = spawn(fakeCloudflaredPath, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    times.push(performance.now() - started)
    child.stdout.resume()
    child.stderr.resume()
    await new Promise((r) => child.once('exit', r))
  }
  return times
}

async function supervisedRestarts(pdeathsig: boolean): Promise<number[]> {
  const times: number[] = []
  let exitedAt = 0
  const tunnel = createTunnel({
    bin: fakeCloudflaredPath,
    token: fakeCloudflaredToken(),
    env: fakeCloudflaredEnv('exit', { exitAfterMs: 0, exitCode: 1 }),
    backoff: { initialDelayMs: 0, maxDelayMs: 0, jitter: 'none' },
    maxCrashes: ROUNDS + 10,
    pdeathsig,
    pidFile: join(mkdtempSync(join(tmpdir(), 'restart-bench-')), 'cf.pid'),
  })
  await new Promise<void>((resolve) => {
    tunnel.on('exit', () => {
      exitedAt = performance.now()
    })
    tunnel.on('spawn', ({ start }) => {
      if (start > 1) times.push(performance.now() - exitedAt)
      if (times.length >= ROUNDS) resolve()
    })
    void tunnel.start()
  })
  await tunnel.stop()
  return times
}

// The supervisor's timers are unref'd (library rule): keep this script alive ourselves.
const keepAlive = setInterval(() => undefined, 1000)
const bare = median(await bareSpawn())
const supervised = median(await supervisedRestarts(true))
const supervisedNoWrapper = median(await supervisedRestarts(false))
console.log(
  `bare child_process.spawn (baseline):         ${bare.toFixed(2)} ms (median of ${ROUNDS})`,
)
console.log(
  `supervisor restart, exit -> spawned:         ${supervised.toFixed(2)} ms = ${(supervised / bare).toFixed(2)}x baseline (setpriv --pdeathsig wrapper, pid file, free-port pick)`,
)
console.log(
  `supervisor restart without setpriv wrapper:  ${supervisedNoWrapper.toFixed(2)} ms = ${(supervisedNoWrapper / bare).toFixed(2)}x baseline`,
)
clearInterval(keepAlive)
