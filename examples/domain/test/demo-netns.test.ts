/**
 * `pnpm demo` sends nothing beyond loopback: the demo runs in a network namespace whose only
 * interface is `lo`, goes through every fault (the DNS outage included) and recovers; the
 * kernel's "no route" counters of the namespace stay where they were, so not one packet (not
 * even a DNS query) was addressed outside 127.0.0.0/8 or ::1. Needs root for `ip netns` (CI
 * runs as root); elsewhere it is reported as skipped.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startExample, type RunningExample } from '@scanner-examples/domain/testing'

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].find((path) => existsSync(path))
const root = typeof process.getuid === 'function' && process.getuid() === 0
const namespace = `scanner-demo-${String(process.pid)}`
const expressApi = fileURLToPath(new URL('../../express-api/', import.meta.url))

function ip(...args: string[]): string {
  if (IP === undefined) throw new Error('ip (iproute2) is not installed')
  return execFileSync(IP, args, { encoding: 'utf8' })
}

/** `OutNoRoutes` of IPv4 and IPv6 in the namespace: packets the kernel had no route for. */
function noRouteCounters(): { ipv4: number; ipv6: number; ipv4Out: number } {
  const snmp = ip('netns', 'exec', namespace, 'cat', '/proc/net/snmp').split('\n')
  const header = snmp.find((line) => line.startsWith('Ip: Forwarding'))?.split(/\s+/) ?? []
  const values = snmp.find((line) => /^Ip: \d/.test(line))?.split(/\s+/) ?? []
  const field = (name: string): number => Number(values[header.indexOf(name)])
  const snmp6 = ip('netns', 'exec', namespace, 'cat', '/proc/net/snmp6')
  const ipv6 = Number(/^Ip6OutNoRoutes\s+(\d+)$/m.exec(snmp6)?.[1])
  return { ipv4: field('OutNoRoutes'), ipv6, ipv4Out: field('OutRequests') }
}

describe.runIf(root && IP !== undefined)('the demo in a loopback-only network namespace', () => {
  let demo: RunningExample | undefined
  let before: ReturnType<typeof noRouteCounters>

  beforeAll(() => {
    ip('netns', 'add', namespace)
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up')
    expect(ip('netns', 'exec', namespace, 'ip', '-o', 'link').trim().split('\n')).toHaveLength(1)
    before = noRouteCounters()
  })

  afterAll(() => {
    demo?.kill()
    ip('netns', 'del', namespace)
  })

  it('goes through every fault and recovers, and no packet leaves loopback', async () => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TUNNEL: 'simulator',
      PORT: '0',
      ADMIN_PORT: '0',
      DEMO_FAULT_INTERVAL_MS: '1500',
      NODE_ENV: 'production',
    }
    demo = await startExample({
      cwd: expressApi,
      env,
      command: IP,
      args: [
        'netns',
        'exec',
        namespace,
        process.execPath,
        '--conditions=@scanner/source',
        '--import',
        'tsx',
        'src/server.ts',
        '--demo',
      ],
      timeoutMs: 60_000,
    })
    await demo.waitForOutput(/>>> injecting fault 5\/5: resolver outage/, 90_000)
    await demo.waitForOutput(/>>> DNS failure detected/, 20_000)
    await demo.waitForOutput(/>>> DNS recovery: the fallback resolver 127\.0\.0\.1:\d+/, 20_000)
    await demo.waitForOutput(/>>> DNS recovered/, 20_000)
    const output = demo.output()
    for (const fault of ['1/5: QUIC', '2/5: crash', '3/5: lost connections', '4/5: DNS failure']) {
      expect(output).toContain(`>>> injecting fault ${fault}`)
    }
    const narration = output
      .split('\n')
      .filter((line) => line.startsWith('>>>'))
      .join('\n')
    expect(
      output.match(/>>> (recovered: tunnel running again|make-before-break done)/g)?.length,
      narration,
    ).toBeGreaterThanOrEqual(4)
    expect(output).not.toMatch(/network down|ENETUNREACH|EAI_AGAIN|ENOTFOUND/)
    expect(await demo.stop('SIGINT', 30_000)).toBe(0)

    const after = noRouteCounters()
    expect(after.ipv4Out).toBeGreaterThan(before.ipv4Out) // it did talk, on loopback
    expect(after.ipv4).toBe(before.ipv4)
    expect(after.ipv6).toBe(before.ipv6)
  }, 180_000)
})
