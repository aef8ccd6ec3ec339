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

  it('injects a fault, restarts cloudflared with a reason and a delay, and recovers', async () => {
    const injected = await demo.waitForOutput(
      />>> injecting fault 1\/5: QUIC timeout burst/,
      20_000,
    )
    const from = (injected.index ?? 0) + injected[0].length
    collectSimulators()
    await demo.waitForOutput(
      />>> fault detected \(quic-timeouts\): restarting cloudflared in [\d.]+ s/,
      20_000,
      from,
    )
    await demo.waitForOutput(
      /restarting cloudflared.*"reason":"quic-timeouts","delayMs":\d+/,
      5000,
      from,
    )
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
