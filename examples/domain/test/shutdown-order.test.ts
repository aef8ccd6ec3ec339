/**
 * The shutdown order through the tunnel, on the real servers with the cloudflared simulator:
 * readiness 503 (the server still serving, `Connection: close`), then cloudflared's graceful
 * stop (connections unregister while the server still answers), then the server closes.
 */
import { Agent } from 'node:http'
import { createFakeEdge } from '@scanner/tunnel/testing'
import { describe, expect, it } from 'vitest'
import { descendants, isAlive, startExample, type RunningExample } from '../src/testing.js'
import { EXAMPLES, defaultEnvironment, eventually, exampleDir, get } from './drain-helpers.js'

/** Log messages of one shutdown, in the order they must appear. */
const ORDER = [
  'SIGTERM received: shutting down gracefully',
  'health draining: readiness now answers 503',
  'shutdown: drain readiness done',
  'Initiating graceful shutdown due to signal terminated',
  'Unregistered tunnel connection',
  'Tunnel server stopped',
  'cloudflared exited',
  'shutdown: stop tunnel done',
  'shutdown: close server done',
  'shutdown complete',
]

/** The log lines (JSON) whose message contains `text`. */
function lines(output: string, text: string): string[] {
  return output.split('\n').filter((line) => line.includes(`"msg":`) && line.includes(text))
}

/** Starts an example with its tunnel running; killed when the test ends. */
async function start(
  name: (typeof EXAMPLES)[number],
  env: NodeJS.ProcessEnv,
  onTestFinished: (fn: () => void) => void,
): Promise<RunningExample> {
  const example = await startExample({ cwd: exampleDir(name), env, timeoutMs: 60_000 })
  onTestFinished(() => {
    example.kill()
  })
  await example.waitForOutput(/"state":"running"/, 30_000)
  return example
}

describe.concurrent.each(EXAMPLES)('%s shutdown through the tunnel', (name) => {
  it('turns readiness to 503, stops cloudflared gracefully, then closes the server', async ({
    onTestFinished,
  }) => {
    // A short drain for the test; cloudflared takes 5 s to finish its in-flight requests.
    const env = defaultEnvironment({ DRAIN_DELAY_MS: '1500', FAKE_CLOUDFLARED_DRAIN_MS: '5000' })
    const example = await start(name, env, onTestFinished)
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    onTestFinished(() => {
      agent.destroy()
    })
    const api = `${example.url}/api/quotes/NVDA`
    expect(await get(api, agent)).toEqual({ status: 200, connection: 'keep-alive' })

    example.child.kill('SIGTERM')
    // 1. The server keeps serving; a keep-alive connection in use is told to close...
    await eventually(async () => {
      expect(await get(api, agent)).toEqual({ status: 200, connection: 'close' })
    })
    // ... and readiness answers 503.
    expect((await get(`${example.url}/health/ready/`, false)).status).toBe(503)
    // 2. cloudflared's graceful shutdown: the origin still answers what the tunnel carries.
    await example.waitForOutput(/Initiating graceful shutdown/, 30_000)
    expect((await get(api, false)).status).toBe(200)
    // 3. Then the server closes and the process exits 0.
    const code = await example.stop(null, 40_000)
    const output = example.output()
    expect(code, output).toBe(0)

    const positions = ORDER.map((text) => output.indexOf(text))
    for (const [index, text] of ORDER.entries()) {
      expect(positions[index], `${text} missing:\n${output}`).toBeGreaterThanOrEqual(0)
    }
    expect(
      [...positions].sort((a, b) => a - b),
      output,
    ).toEqual(positions)
    // Every connection unregistered before the exit, and cloudflared exited by itself (0),
    // within its grace period rather than by SIGKILL.
    const registered = lines(output, 'Registered tunnel connection').length
    expect(registered).toBeGreaterThan(0)
    expect(lines(output, 'Unregistered tunnel connection').length).toBe(registered)
    expect(lines(output, 'cloudflared exited')[0]).toContain('"exitCode":0')
  }, 120_000)

  it('a second Ctrl-C during the default drain exits at once with 130', async ({
    onTestFinished,
  }) => {
    // Default settings: production mode, the 10 s drain.
    const example = await start(name, defaultEnvironment(), onTestFinished)
    const pid = example.child.pid ?? 0
    const simulators = descendants(pid)
    example.child.kill('SIGINT')
    await eventually(async () => {
      expect((await get(`${example.url}/health/ready/`, false)).status).toBe(503)
    })
    // The server took the first SIGINT before this 503. The same signal within a second is the
    // copy a package manager forwards; a person's second Ctrl-C comes later.
    const drained = performance.now()
    await eventually(() => {
      expect(performance.now() - drained).toBeGreaterThan(1100)
      return Promise.resolve()
    })
    const code = await example.stop('SIGINT', 20_000)
    const output = example.output()
    expect(code, output).toBe(130)
    expect(output).toContain('draining: still serving for 10 s')
    expect(output).toContain('second signal during shutdown: exiting now')
    expect(output).not.toContain('shutdown: drain readiness done')
    for (const child of simulators) {
      await eventually(() => {
        expect(isAlive(child), `simulator ${child} left running`).toBe(false)
        return Promise.resolve()
      })
    }
  }, 120_000)
})

describe.each(EXAMPLES)('%s shutdown with a second replica behind the fake edge', (name) => {
  it('while one instance shuts down, every request through the edge succeeds via the other', async ({
    onTestFinished,
  }) => {
    const edge = await createFakeEdge()
    onTestFinished(() => edge.close())
    // Two instances, each with its own simulated cloudflared registered at the same edge: the
    // edge spreads requests over both, as Cloudflare does over the replicas of a tunnel.
    const env = defaultEnvironment({
      DRAIN_DELAY_MS: '1500',
      FAKE_CLOUDFLARED_DRAIN_MS: '2000',
      FAKE_CLOUDFLARED_EDGE: edge.url,
      ADMIN_PORT: '0',
    })
    const first = await start(name, env, onTestFinished)
    const second = await start(name, env, onTestFinished)
    await eventually(() => {
      expect(edge.connectors()).toHaveLength(2)
      return Promise.resolve()
    }, 30_000)

    // Steady load through the edge: four clients, one request after another, fresh connections.
    const api = `${edge.url}/api/quotes/NVDA`
    const statuses = new Map<number | string, number>()
    let sentDuringShutdown = 0
    let shuttingDown = false
    let running = true
    const client = async (): Promise<void> => {
      while (running) {
        const during = shuttingDown
        let key: number | string
        try {
          key = (await get(api, false)).status
        } catch (error) {
          key = (error as NodeJS.ErrnoException).code ?? 'error'
        }
        statuses.set(key, (statuses.get(key) ?? 0) + 1)
        if (during) sentDuringShutdown++
      }
    }
    const clients = [client(), client(), client(), client()]
    await eventually(() => {
      expect(statuses.get(200) ?? 0).toBeGreaterThan(20)
      return Promise.resolve()
    })

    shuttingDown = true
    first.child.kill('SIGTERM')
    const code = await first.stop(null, 40_000)
    expect(code, first.output()).toBe(0)
    // The edge saw the first replica's connections go; the second one still serves.
    expect(edge.connectors()).toHaveLength(1)
    const afterExit = statuses.get(200) ?? 0
    await eventually(() => {
      expect(statuses.get(200) ?? 0).toBeGreaterThan(afterExit + 20)
      return Promise.resolve()
    })
    running = false
    await Promise.all(clients)

    const failed = [...statuses].filter(([status]) => status !== 200)
    expect(failed, JSON.stringify([...statuses])).toEqual([])
    expect(sentDuringShutdown).toBeGreaterThan(20)
    expect(edge.stats()).toMatchObject({ unavailable: 0, errors: 0 })
    // The order held on the replica that stopped.
    const output = first.output()
    const positions = ORDER.map((text) => output.indexOf(text))
    expect(
      positions.every((p) => p >= 0),
      output,
    ).toBe(true)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
    expect(second.child.exitCode).toBeNull()
  }, 120_000)
})
