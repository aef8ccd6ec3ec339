import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, smokeEnvironment } from '@scanner-examples/domain/smoke'
import {
  commandLine,
  descendants,
  isAlive,
  startExample,
  startLoopbackDns,
  type RunningExample,
} from '@scanner-examples/domain/testing'

const cwd = fileURLToPath(new URL('..', import.meta.url))
const { scripts } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as {
  scripts: { demo: string }
}

describe('pnpm demo', () => {
  let demo: RunningExample
  let dns: Awaited<ReturnType<typeof startLoopbackDns>>
  const simulators = new Set<number>()
  const collectSimulators = (): void => {
    for (const pid of descendants(demo.child.pid ?? -1)) {
      if ((commandLine(pid) ?? '').includes('fake-cloudflared')) simulators.add(pid)
    }
  }

  beforeAll(async () => {
    dns = await startLoopbackDns()
    const env = {
      ...smokeEnvironment(dns.address),
      // The demo's own choices (pretty logs), but never a real cloudflared in a test.
      LOG_FORMAT: '',
      TUNNEL: 'simulator',
      DEMO_FAULT_INTERVAL_MS: '1500',
    }
    // The `demo` script of package.json (`node ... src/server.ts --demo`), run in its own
    // process group as a terminal would; what pnpm would exec, without pnpm in between.
    const [command, ...args] = scripts.demo.split(/\s+/)
    expect(command).toBe('node')
    demo = await startExample({ cwd, env, command: process.execPath, args })
  })
  afterAll(async () => {
    demo.kill()
    await dns.close()
  })

  it('says it supervises the simulator and prints the URLs to try', async () => {
    await demo.waitForOutput(/cloudflared simulator/)
    await demo.waitForOutput(/\/health\/detailed\//)
    await demo.waitForOutput(/\/metrics/)
    await demo.waitForOutput(/api\/feed\/NVDA/)
    expect(demo.output()).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] INFO: /) // pino-pretty lines
  })

  it('replaces cloudflared make-before-break on a QUIC burst: every request through the simulated edge is answered', async () => {
    const edge = (await demo.waitForOutput(/Simulated edge on (http:\/\/127\.0\.0\.1:\d+)/))[1]
    // A visitor's requests through the edge, one after another, for the whole test, each with
    // the times it was sent and answered.
    const requests: { status: number | string; sent: number; done: number }[] = []
    let running = true
    const visitor = (async () => {
      while (running) {
        const sent = Date.now()
        const status = await fetch(`${edge ?? ''}/api/quotes/NVDA`).then(
          async (response) => {
            await response.arrayBuffer()
            return response.status
          },
          (error: unknown) => String(error),
        )
        requests.push({ status, sent, done: Date.now() })
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })()
    try {
      await eventually(() => {
        expect(requests.at(-1)?.status).toBe(200)
        return Promise.resolve()
      })
      // The next QUIC burst injected from now on (the faults come round again if the first
      // one was before the visitor started).
      const from = demo.output().length
      const injected = await demo.waitForOutput(
        />>> injecting fault 1\/5: QUIC timeout burst/,
        60_000,
        from,
      )
      const after = from + (injected.index ?? 0) + injected[0].length
      collectSimulators()
      await demo.waitForOutput(
        />>> fault detected \(quic-timeouts\): starting a replica before stopping the old cloudflared \(make-before-break\)/,
        20_000,
        after,
      )
      collectSimulators()
      await demo.waitForOutput(/>>> make-before-break done: .*no gap/, 30_000, after)
      // The handover's span, from the demo's own log times: the replica's start to the old
      // cloudflared's exit. (The window is not where this test saw the lines: on a loaded
      // machine it reads them late, when the next fault, a crash, may already be under way.)
      const start = logTime(
        await demo.waitForOutput(
          /\[([\d:.]+)\] INFO: \[tunnel\] restart: starting a replica/,
          5000,
          after,
        ),
      )
      const end = logTime(
        await demo.waitForOutput(/\[([\d:.]+)\] INFO: \[tunnel\] handover complete/, 5000, after),
      )
      await eventually(() => {
        expect(requests.at(-1)?.sent ?? 0).toBeGreaterThan(end + 100)
        return Promise.resolve()
      })
      expect(end).toBeGreaterThanOrEqual(start)
      // Every request in flight at any moment of the handover.
      const window = requests.filter((r) => r.done >= start && r.sent <= end + 100)
      expect(
        window.filter((r) => r.status !== 200),
        `${String(window.length)} requests during the handover`,
      ).toEqual([])
      expect(window.length).toBeGreaterThan(0)
    } finally {
      running = false
      await visitor
    }
  }, 120_000)

  it('restarts a crashed cloudflared with a reason and a delay, and recovers', async () => {
    const injected = await demo.waitForOutput(/>>> injecting fault 2\/5: crash/, 30_000)
    const from = (injected.index ?? 0) + injected[0].length
    await demo.waitForOutput(
      />>> fault detected \(exit, exit code 1\): restarting cloudflared in [\d.]+ s/,
      20_000,
      from,
    )
    await demo.waitForOutput(/restarting cloudflared.*"reason":"exit","delayMs":\d+/, 5000, from)
    await demo.waitForOutput(/>>> recovered: tunnel running again/, 20_000, from)
    collectSimulators()
  })

  it('is ready after the recovery', async () => {
    const ready = await eventually(async () => {
      const response = await fetch(`${demo.url}/health/ready/`)
      expect(response.status).toBe(200)
      return response
    })
    expect(await ready.json()).toMatchObject({ status: 'ready' })
    collectSimulators()
    expect(simulators.size).toBeGreaterThan(0)
  })

  it('stops cleanly on Ctrl-C (SIGINT to the process group) and leaves nothing running', async () => {
    process.kill(-(demo.child.pid ?? 0), 'SIGINT') // once, to the whole group, like Ctrl-C
    const code = await demo.stop(null, 20_000)
    const output = demo.output()
    expect(code, output).toBe(0)
    expect(output).toMatch(/shutdown complete/)
    for (const pid of simulators) expect(isAlive(pid), `simulator ${pid}`).toBe(false)
    expect(descendants(demo.child.pid ?? -1)).toEqual([])
  })
})

/**
 * The time of a pino-pretty line of the demo (`[HH:MM:ss.l]`, UTC) as epoch ms: the day is the
 * one that puts it nearest to now (the test runs within minutes of the line).
 */
function logTime(match: RegExpMatchArray): number {
  const [h, m, sec] = (match[1] ?? '').split(':').map(Number)
  const ofDay = (((h ?? 0) * 60 + (m ?? 0)) * 60 + (sec ?? 0)) * 1000
  const day = 86_400_000
  const now = Date.now()
  const offset = ((((ofDay - (now % day)) % day) + day + day / 2) % day) - day / 2
  return Math.round(now + offset)
}
