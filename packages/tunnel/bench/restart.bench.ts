/**
 * Restart latency of the tunnel supervisor with zero backoff: from the moment it sees
 * cloudflared exit to the new child spawned, as a ratio to a bare `child_process.spawn()` of
 * the same simulator (call to 'spawn' event), measured in the same run. Target: at most 1.2 x.
 *
 * The two are measured in alternating blocks (a few bare spawns, then a few restarts, then a few
 * restarts without the setpriv wrapper, and again), and the ratio is the median over blocks of
 * each block's ratio of medians: a spawn costs more as the machine gets busier, and a slow
 * stretch then weighs on both sides alike instead of on whichever was measured in it.
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

const BLOCKS = 6
const PER_BLOCK = 5
const TARGET = 1.2

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

async function bareSpawn(): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < PER_BLOCK; i++) {
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
    maxCrashes: PER_BLOCK + 10,
    pdeathsig,
    pidFile: join(mkdtempSync(join(tmpdir(), 'restart-bench-')), 'cf.pid'),
  })
  await new Promise<void>((resolve) => {
    tunnel.on('exit', () => {
      exitedAt = performance.now()
    })
    tunnel.on('spawn', ({ start }) => {
      if (start > 1) times.push(performance.now() - exitedAt)
      if (times.length >= PER_BLOCK) resolve()
    })
    void tunnel.start()
  })
  await tunnel.stop()
  return times
}

// The supervisor's timers are unref'd (library rule): keep this script alive ourselves.
const keepAlive = setInterval(() => undefined, 1000)
const all = { bare: [] as number[], wrapped: [] as number[], plain: [] as number[] }
const ratios = { wrapped: [] as number[], plain: [] as number[] }
for (let block = 0; block < BLOCKS; block++) {
  const bare = await bareSpawn()
  const wrapped = await supervisedRestarts(true)
  const plain = await supervisedRestarts(false)
  all.bare.push(...bare)
  all.wrapped.push(...wrapped)
  all.plain.push(...plain)
  ratios.wrapped.push(median(wrapped) / median(bare))
  ratios.plain.push(median(plain) / median(bare))
}
clearInterval(keepAlive)
const n = BLOCKS * PER_BLOCK
const line = (label: string, times: number[], blockRatios: number[]): string => {
  const ratio = median(blockRatios)
  const spread = `blocks ${Math.min(...blockRatios).toFixed(2)}-${Math.max(...blockRatios).toFixed(2)}`
  return `${label} ${median(times).toFixed(2)} ms = ${ratio.toFixed(2)}x baseline [${spread}] (target <= ${TARGET}: ${ratio <= TARGET ? 'met' : 'MISSED'})`
}
console.log(
  `bare child_process.spawn (baseline):         ${median(all.bare).toFixed(2)} ms (median of ${n}, in ${BLOCKS} blocks alternating with the restarts)`,
)
console.log(
  line('supervisor restart, exit -> spawned:        ', all.wrapped, ratios.wrapped) +
    ' (setpriv --pdeathsig wrapper, pid file, free-port pick)',
)
console.log(line('supervisor restart without setpriv wrapper: ', all.plain, ratios.plain))
