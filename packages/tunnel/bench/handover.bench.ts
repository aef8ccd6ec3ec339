/**
 * Handover time of a restart, against a bare spawn-to-ready of the simulator in the same run:
 * - baseline: `child_process.spawn()` of the simulator (named tunnel, behind the fake edge) to its
 *   4th `Registered tunnel connection` line;
 * - make-before-break: `restart()` to the exit of the old cloudflared (the new replica started,
 *   registered 4 connections at the edge, then the old one unregistered, drained and exited);
 *   the tunnel serves requests the whole time;
 * - break-before-make: `restart()` to the first ready connection of the new cloudflared: the time
 *   the tunnel is down.
 *
 * Run: pnpm bench handover (or, from packages/tunnel:
 * node --conditions=@scanner/source --import tsx bench/handover.bench.ts)
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTunnel } from '../src/index.js'
import type { RestartStrategy, TunnelHandoverEvent } from '../src/index.js'
import {
  createFakeEdge,
  fakeCloudflaredEnv,
  fakeCloudflaredPath,
  fakeCloudflaredToken,
} from '../src/testing.js'

const ROUNDS = 10
const CONNECTIONS = 4

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

const origin = createServer((_req, res) => res.end('ok'))
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
const address = origin.address()
const originUrl = `http://127.0.0.1:${String(typeof address === 'object' && address ? address.port : 0)}`
const edge = await createFakeEdge()
const env = fakeCloudflaredEnv('normal', { edge: edge.url, origin: originUrl })

async function bareSpawnToReady(): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now()
    const child = spawn(
      process.execPath,
      [fakeCloudflaredPath, 'tunnel', '--metrics', '127.0.0.1:0', 'run'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ...env, TUNNEL_TOKEN: fakeCloudflaredToken() },
      },
    )
    await new Promise<void>((resolve) => {
      let registered = 0
      let pending = ''
      child.stderr.on('data', (chunk: Buffer) => {
        pending += chunk.toString()
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) {
          if (line.includes('Registered tunnel connection')) registered++
          if (registered === CONNECTIONS) {
            times.push(performance.now() - started)
            registered++
            resolve()
          }
        }
      })
    })
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  return times
}

async function handovers(strategy: RestartStrategy): Promise<number[]> {
  const times: number[] = []
  const tunnel = createTunnel({
    bin: fakeCloudflaredPath,
    token: fakeCloudflaredToken(),
    env,
    restartStrategy: strategy,
    handover: { readyConnections: CONNECTIONS },
    backoff: { initialDelayMs: 0, maxDelayMs: 0, jitter: 'none' },
    pidFile: join(mkdtempSync(join(tmpdir(), 'handover-bench-')), 'cf.pid'),
  })
  await tunnel.start()
  await tunnel.waitForReady({ timeoutMs: 30_000 })
  for (let i = 0; i < ROUNDS; i++) {
    const done = new Promise<TunnelHandoverEvent>((resolve) => {
      const off = tunnel.on('handover', (e) => {
        if (e.phase !== 'completed') return
        off()
        resolve(e)
      })
    })
    // Ready with every connection before each round, so that rounds compare alike.
    while (tunnel.status().readyConnections < CONNECTIONS || tunnel.status().replicas.length > 1) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    tunnel.restart()
    const event = await done
    times.push(event.handoverMs ?? Number.NaN)
  }
  await tunnel.stop()
  return times
}

// The supervisor's timers are unref'd (library rule): keep this script alive ourselves.
const keepAlive = setInterval(() => undefined, 1000)
const bare = median(await bareSpawnToReady())
const mbb = median(await handovers('make-before-break'))
const bbm = median(await handovers('break-before-make'))
console.log(
  `bare spawn to ${String(CONNECTIONS)} registered connections (baseline): ${bare.toFixed(0)} ms (median of ${String(ROUNDS)})`,
)
console.log(
  `make-before-break handover, new replica start -> old exit:   ${mbb.toFixed(0)} ms = ${(mbb / bare).toFixed(2)}x baseline (the tunnel serves throughout)`,
)
console.log(
  `break-before-make restart -> first ready connection:         ${bbm.toFixed(0)} ms = ${(bbm / bare).toFixed(2)}x baseline (the tunnel is down meanwhile)`,
)
clearInterval(keepAlive)
await edge.close()
origin.close()
