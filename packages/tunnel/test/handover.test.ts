// Make-before-break restarts: a new replica registers with the (fake) edge before the old one
// is stopped, so a recovery drops no request. Requests go client -> fake edge -> a registered
// simulator replica -> a real origin server, all on loopback.
import type { Tunnel, TunnelHandoverEvent, TunnelRestartEvent } from '@scanner/tunnel'
import { createFakeEdge, fakeCloudflaredEnv, fakeCloudflaredPath } from '@scanner/tunnel/testing'
import type { FakeEdge, FakeCloudflaredKnobs } from '@scanner/tunnel/testing'
import { chmodSync, existsSync, writeFileSync } from 'node:fs'
import { appendFile } from 'node:fs/promises'
import { Agent, createServer, request } from 'node:http'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { alive, groupMembers, stopAll, tempDir, tunnelFor, waitFor } from './helpers.js'

let origin: Server
let originUrl: string
let edge: FakeEdge

beforeEach(async () => {
  origin = createServer((req, res) => {
    // A little work per request, so that requests are in flight during every handover.
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(`ok ${req.url ?? ''}`)
    }, 5)
  })
  origin.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  const address = origin.address()
  originUrl = `http://127.0.0.1:${String(typeof address === 'object' && address ? address.port : 0)}`
  edge = await createFakeEdge()
})

afterEach(async () => {
  await stopAll()
  await edge.close()
  origin.closeAllConnections()
  await new Promise<void>((resolve) =>
    origin.close(() => {
      resolve()
    }),
  )
})

/** Knobs that put the simulator behind the fake edge, serving the origin. */
function edgeKnobs(more: FakeCloudflaredKnobs = {}): FakeCloudflaredKnobs {
  return { edge: edge.url, origin: originUrl, ...more }
}

interface LoadResult {
  sent: number
  ok: number
  failed: number
  statuses: Record<string, number>
  maxLatencyMs: number
  /** Requests slower than 1 s (a loaded machine, or a request held by a handover). */
  slow: number
  /** The first failures: what failed, and when (ms after the load began), for the report. */
  failures: string[]
}

/** A steady load of `perSecond` requests through the edge until `stop()`. */
function startLoad(url: string, perSecond: number): { stop: () => Promise<LoadResult> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const result: LoadResult = {
    sent: 0,
    ok: 0,
    failed: 0,
    statuses: {},
    maxLatencyMs: 0,
    slow: 0,
    failures: [],
  }
  const pending = new Set<Promise<void>>()
  const begin = performance.now()
  const record = (what: string, started: number): void => {
    if (result.failures.length >= 20) return
    const at = (started - begin).toFixed(0)
    const took = (performance.now() - started).toFixed(0)
    result.failures.push(`${what} (sent at ${at} ms, after ${took} ms)`)
  }
  const one = (): void => {
    result.sent++
    const path = `/load/${String(result.sent)}`
    const started = performance.now()
    const done = new Promise<void>((resolve) => {
      let onSocket = started
      const req = request(`${url}${path}`, { agent }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const key = String(res.statusCode)
          result.statuses[key] = (result.statuses[key] ?? 0) + 1
          if (res.statusCode === 200) result.ok++
          else {
            result.failed++
            const body = Buffer.concat(chunks).toString('utf8').trim().slice(0, 200)
            record(`${path}: ${key} ${JSON.stringify(body)}`, started)
          }
          // From when the request had a connection: time queued in this client's own agent
          // (a starved test process sending behind schedule) is not the tunnel's latency.
          const latency = performance.now() - onSocket
          result.maxLatencyMs = Math.max(result.maxLatencyMs, latency)
          if (latency > 1000) result.slow++
          resolve()
        })
      })
      req.once('socket', () => {
        onSocket = performance.now()
      })
      req.on('error', (error: NodeJS.ErrnoException) => {
        result.statuses[error.message] = (result.statuses[error.message] ?? 0) + 1
        result.failed++
        record(`${path}: ${error.code ?? ''} ${error.message}`, started)
        resolve()
      })
      req.end()
    })
    pending.add(done)
    void done.then(() => pending.delete(done))
  }
  // Ticks of 10 ms; each sends what is due, so a late tick catches up.
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - begin) / 1000) * perSecond)
    while (result.sent < due) one()
  }, 10)
  return {
    stop: async () => {
      clearInterval(timer)
      await Promise.all([...pending])
      agent.destroy()
      return result
    },
  }
}

/** Forces `count` QUIC-timeout recoveries of the running replica; resolves with the restarts. */
async function forceRecoveries(
  tunnel: Tunnel,
  control: string,
  count: number,
): Promise<TunnelRestartEvent[]> {
  const restarts: TunnelRestartEvent[] = []
  const off = tunnel.onRestart((e) => restarts.push(e))
  try {
    for (let i = 0; i < count; i++) {
      // One replica, running, registered at the edge: inject three incidents into it.
      await waitFor(
        () =>
          tunnel.state === 'running' &&
          tunnel.status().replicas.length === 1 &&
          tunnel.status().handover === undefined &&
          edge.connectors().length === 1 &&
          edge.connections().length === 4,
        30_000,
        `a single ready replica before recovery ${String(i + 1)}`,
      )
      await appendFile(control, 'quic 0\nquic 1\nquic 2\n')
      await waitFor(() => restarts.length > i, 30_000, `recovery ${String(i + 1)}`)
    }
    await waitFor(
      () => tunnel.state === 'running' && tunnel.status().replicas.length === 1,
      30_000,
      'running after the last recovery',
    )
  } finally {
    off()
  }
  return restarts
}

describe('make-before-break under load', () => {
  it('10 forced recoveries at ~200 req/s: 0 failed with make-before-break; the break-before-make baseline drops requests', async () => {
    const runs: Record<
      string,
      { load: LoadResult; restarts: TunnelRestartEvent[]; edge: Record<string, number> }
    > = {}
    for (const strategy of ['make-before-break', 'break-before-make'] as const) {
      const control = join(tempDir(), 'control')
      writeFileSync(control, '')
      const tunnel = tunnelFor({
        env: fakeCloudflaredEnv('normal', edgeKnobs({ control })),
        // cloudflared's default: the bound on how long an old replica may keep a request.
        gracePeriodMs: 30_000,
        restartStrategy: strategy,
        quicTimeouts: { threshold: 3, windowMs: 60_000 },
        protocolFallback: false,
        handover: { readyConnections: 4, timeoutMs: 30_000 },
      })
      await tunnel.start()
      await tunnel.waitForReady({ timeoutMs: 20_000 })
      await waitFor(() => edge.connections().length === 4, 20_000, 'registered at the edge')
      const before = edge.stats()
      const load = startLoad(edge.url, 200)
      // Ten handovers to prove none drops a request; three gaps are enough for the baseline.
      const restarts = await forceRecoveries(
        tunnel,
        control,
        strategy === 'make-before-break' ? 10 : 3,
      )
      const result = await load.stop()
      const after = edge.stats()
      const edgeDelta = Object.fromEntries(
        Object.entries(after).map(([key, value]) => [
          key,
          value - before[key as keyof typeof before],
        ]),
      )
      runs[strategy] = { load: result, restarts, edge: edgeDelta }
      await tunnel.stop()
      await waitFor(() => edge.connections().length === 0, 10_000, 'unregistered')
    }
    const mbb = runs['make-before-break']
    const bbm = runs['break-before-make']
    if (mbb === undefined || bbm === undefined) throw new Error('both runs ran')
    console.info(
      `handover proof: make-before-break ${String(mbb.load.failed)} failed of ${String(mbb.load.sent)} ${JSON.stringify(mbb.load.statuses)} (max ${mbb.load.maxLatencyMs.toFixed(0)} ms, ${String(mbb.load.slow)} over 1 s, handovers ${mbb.restarts.map((r) => String(r.handoverMs)).join('/')} ms); ` +
        `break-before-make ${String(bbm.load.failed)} failed of ${String(bbm.load.sent)} ${JSON.stringify(bbm.load.statuses)}`,
    )
    expect(mbb.restarts).toHaveLength(10)
    for (const restart of mbb.restarts) {
      expect(restart).toMatchObject({
        reason: 'quic-timeouts',
        strategy: 'make-before-break',
        fallback: false,
      })
      expect(restart.handoverMs).toBeGreaterThan(0)
    }
    expect(mbb.load.sent).toBeGreaterThan(500)
    // What failed, when, and what the edge saw, in the failure message itself.
    const report = JSON.stringify({
      statuses: mbb.load.statuses,
      failures: mbb.load.failures,
      edge: mbb.edge,
    })
    expect(mbb.load.failed, report).toBe(0)
    expect(mbb.load.ok, report).toBe(mbb.load.sent)
    // No request waited for longer than the grace period.
    expect(mbb.load.maxLatencyMs).toBeLessThan(30_000)

    expect(bbm.restarts.every((r) => r.strategy === 'break-before-make')).toBe(true)
    expect(bbm.load.failed).toBeGreaterThan(0)
    expect(bbm.load.statuses['530']).toBeGreaterThan(0)
  }, 480_000)
})

describe('handover edge cases', () => {
  it('the new replica never becomes ready: it is stopped and the restart falls back to break-before-make', async () => {
    const scenarioFile = join(tempDir(), 'scenario')
    writeFileSync(scenarioFile, 'normal\n')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', edgeKnobs({ scenarioFile })),
      handover: { readyConnections: 1, timeoutMs: 1500 },
    })
    const handovers: TunnelHandoverEvent[] = []
    tunnel.on('handover', (e) => {
      handovers.push(e)
      // The world heals when the fallback starts (the next start registers again).
      if (e.phase === 'fallback') writeFileSync(scenarioFile, 'normal\n')
    })
    const restarts: TunnelRestartEvent[] = []
    tunnel.onRestart((e) => restarts.push(e))
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    const oldPid = tunnel.pid ?? 0
    writeFileSync(scenarioFile, 'never-ready\n')
    expect(tunnel.restart()).toBe(true)
    await waitFor(() => handovers.some((e) => e.phase === 'fallback'), 30_000, 'the fallback')
    const fallback = handovers.find((e) => e.phase === 'fallback')
    expect(fallback?.message).toMatch(/0 of 1 ready connections after 1500 ms/)
    const replicaPid = fallback?.newPid ?? 0
    expect(replicaPid).toBeGreaterThan(0)
    await waitFor(() => restarts.length === 1, 30_000, 'the fallback restart')
    expect(restarts[0]).toMatchObject({
      reason: 'manual',
      strategy: 'break-before-make',
      fallback: true,
    })
    await waitFor(() => tunnel.state === 'running', 30_000, 'running after the fallback')
    expect(alive(replicaPid)).toBe(false)
    expect(alive(oldPid)).toBe(false)
    expect(groupMembers(replicaPid)).toEqual([])
    expect(tunnel.status().replicas).toHaveLength(1)
    expect(tunnel.status().lastHandover).toMatchObject({
      phase: 'completed',
      strategy: 'break-before-make',
    })
  }, 180_000)

  it('the old replica dies during the handover: the new one takes over, no third start', async () => {
    const tunnel = tunnelFor({
      // Slow registration: the handover lasts long enough to kill the old one in the middle.
      env: fakeCloudflaredEnv('normal', edgeKnobs({ registerDelayMs: 1500 })),
      handover: { readyConnections: 4, timeoutMs: 30_000 },
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    const oldPid = tunnel.pid ?? 0
    const restarts: TunnelRestartEvent[] = []
    tunnel.onRestart((e) => restarts.push(e))
    expect(tunnel.restart()).toBe(true)
    await waitFor(() => tunnel.status().replicas.length === 2, 20_000, 'two replicas')
    const both = tunnel.status().replicas
    expect(both.map((r) => r.role).sort()).toEqual(['active', 'starting'])
    const newPid = both.find((r) => r.role === 'starting')?.pid ?? 0
    process.kill(oldPid, 'SIGKILL')
    await waitFor(() => restarts.length === 1, 30_000, 'the handover to end')
    expect(restarts[0]).toMatchObject({ reason: 'manual', strategy: 'make-before-break' })
    await waitFor(() => tunnel.state === 'running', 30_000, 'running')
    expect(tunnel.pid).toBe(newPid)
    expect(tunnel.status().starts).toBe(2)
    expect(tunnel.status().replicas).toEqual([
      expect.objectContaining({ pid: newPid, role: 'active' }),
    ])
    expect(alive(oldPid)).toBe(false)
  }, 180_000)

  it('a fault of the replica just after the old one died mid-handover restarts it: no restart request is lost', async () => {
    const control = join(tempDir(), 'control')
    writeFileSync(control, '')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', edgeKnobs({ registerDelayMs: 1500, control })),
      handover: { readyConnections: 4, timeoutMs: 60_000 },
      // A slow poll: a handover that waited for its next poll after the old process died
      // (rather than ending at once) held every restart asked for meanwhile, and dropped it.
      readyPollIntervalMs: 20_000,
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    const oldPid = tunnel.pid ?? 0
    const restarts: TunnelRestartEvent[] = []
    tunnel.onRestart((e) => restarts.push(e))
    // The replica reads the commands appended after its start: the test waits for its banner
    // (the old one printed its own before the restart).
    let replicaStarted = false
    tunnel.onLine((e) => {
      if (e.line.includes('Starting metrics server')) replicaStarted = true
    })
    expect(tunnel.restart()).toBe(true)
    await waitFor(() => tunnel.status().replicas.length === 2, 20_000, 'two replicas')
    const newPid = tunnel.status().replicas.find((r) => r.role === 'starting')?.pid ?? 0
    await waitFor(() => replicaStarted, 20_000, 'the replica to start')
    process.kill(oldPid, 'SIGKILL')
    await waitFor(() => tunnel.pid === newPid, 20_000, 'the replica to take over')
    // Three QUIC timeouts of the replica that just took over (the restart threshold), while
    // it registers its connections.
    await appendFile(control, 'quic 0\nquic 0\nquic 0\n')
    await waitFor(
      () => restarts.some((r) => r.reason === 'quic-timeouts'),
      30_000,
      'the QUIC restart of the replica',
    )
    expect(restarts.map((r) => r.reason)).toEqual(['manual', 'quic-timeouts'])
    await waitFor(() => tunnel.pid !== newPid && tunnel.state === 'running', 30_000, 'running')
    expect(alive(oldPid)).toBe(false)
  }, 180_000)

  it('a cloudflared already being restarted gets no replica of its own when it then loses its connections', async () => {
    const scenarioFile = join(tempDir(), 'scenario')
    const control = join(tempDir(), 'control')
    writeFileSync(scenarioFile, 'normal\n')
    writeFileSync(control, '')
    const tunnel = tunnelFor({
      // The old one ignores SIGTERM: the fallback restart waits out its grace period, long
      // enough for the readiness timeout to ask for a restart of it.
      env: fakeCloudflaredEnv('normal', edgeKnobs({ scenarioFile, control, ignoreSigterm: true })),
      handover: { readyConnections: 1, timeoutMs: 1500 },
      gracePeriodMs: 5000,
      readyTimeoutMs: 1000,
    })
    const handovers: TunnelHandoverEvent[] = []
    tunnel.on('handover', (e) => {
      handovers.push(e)
      if (e.phase === 'fallback') {
        writeFileSync(scenarioFile, 'normal\n')
        // The old cloudflared, being stopped by the fallback, loses every connection.
        void appendFile(control, 'lose all\n')
      }
    })
    const replicas: number[] = []
    tunnel.on('spawn', (e) => {
      if (e.replica) replicas.push(e.pid)
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    const oldPid = tunnel.pid ?? 0
    writeFileSync(scenarioFile, 'never-ready\n')
    expect(tunnel.restart()).toBe(true)
    await waitFor(() => tunnel.state === 'degraded', 60_000, 'the old one to lose its connections')
    // Until the old one is gone (killed after its grace period) and a new one runs.
    await waitFor(
      () => !alive(oldPid) && tunnel.pid !== oldPid && tunnel.state === 'running',
      60_000,
      'a new cloudflared running after the fallback',
    )
    // One replica (the manual handover's, never ready): none of the cloudflared the fallback
    // was already stopping.
    expect(replicas).toHaveLength(1)
    expect(handovers.filter((e) => e.phase === 'started')).toHaveLength(1)
  }, 180_000)

  it('stop() during a handover stops both replicas and leaves nothing', async () => {
    const pidFile = join(tempDir(), 'cf.pid')
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', edgeKnobs({ registerDelayMs: 1500 })),
      pidFile,
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    const oldPid = tunnel.pid ?? 0
    tunnel.restart()
    await waitFor(() => tunnel.status().replicas.length === 2, 20_000, 'two replicas')
    const newPid = tunnel.status().replicas.find((r) => r.role === 'starting')?.pid ?? 0
    await tunnel.stop()
    expect(tunnel.state).toBe('stopped')
    expect(alive(oldPid)).toBe(false)
    expect(alive(newPid)).toBe(false)
    expect(groupMembers(oldPid)).toEqual([])
    expect(groupMembers(newPid)).toEqual([])
    expect(tunnel.status().replicas).toEqual([])
    expect(existsSync(pidFile)).toBe(false)
    await waitFor(() => edge.connections().length === 0, 10_000, 'nothing registered')
  }, 180_000)

  it('replace() hands over to a new binary without dropping a request', async () => {
    const dir = tempDir()
    const upgraded = join(dir, 'cloudflared-2026.9.0')
    writeFileSync(
      upgraded,
      `#!/bin/sh\nFAKE_CLOUDFLARED_VERSION=2026.9.0 exec "${process.execPath}" "${fakeCloudflaredPath}" "$@"\n`,
    )
    chmodSync(upgraded, 0o755)
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', edgeKnobs()),
      gracePeriodMs: 5000,
      handover: { readyConnections: 4 },
    })
    const versions: string[] = []
    tunnel.onLine((e) => {
      const m = /Version (\S+)/.exec(e.line)
      if (m?.[1] !== undefined) versions.push(m[1])
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    await waitFor(() => edge.connections().length === 4, 20_000, 'registered')
    const oldPid = tunnel.pid
    const load = startLoad(edge.url, 100)
    const result = await tunnel.replace({ bin: upgraded })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const traffic = await load.stop()
    expect(result.strategy).toBe('make-before-break')
    expect(result.fallback).toBe(false)
    expect(result.handoverMs).toBeGreaterThan(0)
    expect(tunnel.pid).not.toBe(oldPid)
    expect(versions).toEqual(['2026.8.2', '2026.9.0'])
    expect(traffic.statuses).toEqual({ '200': traffic.sent })
    expect(tunnel.status().restarts.byReason.replace).toBe(1)
    await expect(tunnel.replace({ args: ['--token', 'x'] })).rejects.toThrow(/--token/)
    await expect(tunnel.replace({ bin: join(dir, 'missing') })).rejects.toMatchObject({
      code: 'ERR_TUNNEL_BIN_NOT_FOUND',
    })
  }, 180_000)

  it('a quick tunnel restarts break-before-make (each start is a new URL)', async () => {
    const tunnel = tunnelFor({ token: undefined, url: originUrl })
    const restarts: TunnelRestartEvent[] = []
    tunnel.onRestart((e) => restarts.push(e))
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 20_000 })
    expect(tunnel.restart()).toBe(true)
    await waitFor(() => restarts.length === 1, 20_000, 'restart')
    expect(restarts[0]).toMatchObject({ strategy: 'break-before-make', fallback: false })
    await waitFor(() => tunnel.state === 'running', 20_000, 'running')
    await waitFor(
      () => tunnel.status().lastHandover?.strategy === 'break-before-make',
      20_000,
      'timed break-before-make',
    )
    expect(tunnel.status().lastHandover?.handoverMs).toBeGreaterThan(0)
  }, 180_000)
})
