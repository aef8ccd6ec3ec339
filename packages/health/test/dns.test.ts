import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createDnsMonitor,
  createHealth,
  dnsCheck,
  type DnsEventName,
  type DnsMonitor,
  type DnsMonitorOptions,
  type DnsReport,
} from '@scanner/health'
import { startDnsServer, type TestDnsServer } from './fixtures/dns-server.js'

const names = ['region1.edge.test', 'region2.edge.test']
const records = { 'region1.edge.test': ['127.0.0.2'], 'region2.edge.test': ['127.0.0.3'] }
const INTERVAL = 60_000

function nextEvent(monitor: DnsMonitor, event: DnsEventName): Promise<DnsReport> {
  return new Promise((resolve) => {
    const off = monitor.on(event, (report) => {
      off()
      resolve(report)
    })
  })
}

describe('DNS monitor against loopback DNS servers', () => {
  let system: TestDnsServer
  let fallback: TestDnsServer
  const monitors: DnsMonitor[] = []

  beforeEach(async () => {
    system = await startDnsServer(records)
    fallback = await startDnsServer(records)
  })

  afterEach(async () => {
    vi.useRealTimers()
    for (const m of monitors.splice(0)) await m.close()
    await system.stop().catch(() => undefined)
    await fallback.stop().catch(() => undefined)
  })

  function monitor(options: DnsMonitorOptions = {}): DnsMonitor {
    const m = createDnsMonitor({
      names,
      systemServers: [system.address],
      fallbacks: [fallback.address],
      timeoutMs: 1000,
      intervalMs: INTERVAL,
      ...options,
    })
    monitors.push(m)
    return m
  }

  it('resolves every name through the system resolver and the fallbacks', async () => {
    const m = monitor()
    expect(m.state).toBe('unknown')
    const report = await m.checkNow()
    expect(report.status).toBe('ok')
    expect(m.state).toBe('ok')
    expect(m.lastReport).toBe(report)
    expect(report.time).toMatch(/Z$/)
    expect(report.system).toEqual([
      expect.objectContaining({
        resolver: 'system',
        name: names[0],
        ok: true,
        addresses: ['127.0.0.2'],
      }),
      expect.objectContaining({
        resolver: 'system',
        name: names[1],
        ok: true,
        addresses: ['127.0.0.3'],
      }),
    ])
    expect(report.fallbacks.map((r) => [r.resolver, r.ok])).toEqual([
      [fallback.address, true],
      [fallback.address, true],
    ])
    for (const r of [...report.system, ...report.fallbacks]) {
      expect(r.latency_ms).toBeGreaterThanOrEqual(0)
    }
    expect(system.queries).toBeGreaterThanOrEqual(2)
    expect(fallback.queries).toBeGreaterThanOrEqual(2)
  })

  it('tells a failing system resolver (SERVFAIL) with a working fallback apart as dns-failure', async () => {
    const m = monitor()
    const failures: DnsReport[] = []
    m.on('failure', (r) => failures.push(r))
    system.mode = 'servfail'
    const report = await m.checkNow()
    expect(report.status).toBe('dns-failure')
    expect(m.state).toBe('dns-failure')
    expect(report.system.every((r) => !r.ok)).toBe(true)
    expect(report.system[0]!.error).toMatch(/SERVFAIL/)
    expect(report.fallbacks.every((r) => r.ok)).toBe(true)
    expect(failures).toEqual([report])
  })

  it('reports a stopped system server within one interval', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const m = monitor()
    const first = nextEvent(m, 'report')
    m.start()
    m.start() // idempotent
    expect((await first).status).toBe('ok')
    await system.stop()
    const failure = nextEvent(m, 'failure')
    vi.advanceTimersByTime(INTERVAL)
    const report = await failure
    expect(report.status).toBe('dns-failure')
    expect(report.system[0]!.error).toMatch(/ECONNREFUSED|timed out|ETIMEOUT/)
  })

  it('reports SERVFAIL within one interval and recovers', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const m = monitor()
    const first = nextEvent(m, 'report')
    m.start()
    await first
    system.mode = 'servfail'
    let report = nextEvent(m, 'report')
    vi.advanceTimersByTime(INTERVAL)
    expect((await report).status).toBe('dns-failure')
    system.mode = 'answer'
    const recovered = nextEvent(m, 'recovered')
    report = nextEvent(m, 'report')
    vi.advanceTimersByTime(INTERVAL)
    expect((await recovered).status).toBe('ok')
    await report
    expect(m.state).toBe('ok')
    report = nextEvent(m, 'report')
    vi.advanceTimersByTime(INTERVAL)
    expect((await report).status).toBe('ok')
  })

  it('runs recovery actions once per failure episode, not once per interval', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const calls: DnsReport[] = []
    const order: string[] = []
    const m = monitor({
      recovery: [
        (context) => {
          calls.push(context.report)
          order.push('first')
          expect(context.fallbacks).toEqual([fallback.address])
          expect(context.signal.aborted).toBe(false)
        },
        () => {
          order.push('second')
          throw new Error('a failing action does not stop the monitor')
        },
      ],
    })
    const round = async (): Promise<DnsReport> => {
      const next = nextEvent(m, 'report')
      vi.advanceTimersByTime(INTERVAL)
      return next
    }
    const first = nextEvent(m, 'report')
    m.start()
    expect((await first).status).toBe('ok')
    system.mode = 'servfail'
    for (let i = 0; i < 4; i++) expect((await round()).status).toBe('dns-failure')
    expect(calls).toHaveLength(1)
    expect(order).toEqual(['first', 'second'])
    system.mode = 'answer'
    expect((await round()).status).toBe('ok')
    expect(calls).toHaveLength(1)
    system.mode = 'servfail'
    expect((await round()).status).toBe('dns-failure')
    expect((await round()).status).toBe('dns-failure')
    expect(calls).toHaveLength(2)
  })

  it('reports network-down when every resolver fails, and runs no recovery', async () => {
    const recovery = vi.fn()
    const m = monitor({ recovery: [recovery] })
    const downs: DnsReport[] = []
    m.on('network-down', (r) => downs.push(r))
    const failures = vi.fn()
    m.on('failure', failures)
    system.mode = 'servfail'
    await fallback.stop()
    const report = await m.checkNow()
    expect(report.status).toBe('network-down')
    expect(m.state).toBe('network-down')
    await m.checkNow()
    expect(downs).toHaveLength(1)
    expect(failures).not.toHaveBeenCalled()
    expect(recovery).not.toHaveBeenCalled()
    // The fallback comes back while the system resolver still fails: now it is a DNS failure.
    fallback = await startDnsServer(records, fallback.port)
    expect((await m.checkNow()).status).toBe('dns-failure')
    expect(failures).toHaveBeenCalledTimes(1)
    expect(recovery).toHaveBeenCalledTimes(1)
    system.mode = 'answer'
    const recovered = nextEvent(m, 'recovered')
    await m.checkNow()
    expect((await recovered).status).toBe('ok')
  })

  it('decides per name: a name failing on every resolver is network-down, even though the system resolver resolves the other', async () => {
    // Both servers know region1 only: region2 is NXDOMAIN everywhere.
    await system.stop()
    await fallback.stop()
    system = await startDnsServer({ 'region1.edge.test': ['127.0.0.2'] })
    fallback = await startDnsServer({ 'region1.edge.test': ['127.0.0.2'] })
    const recovery = vi.fn()
    const m = monitor({ recovery: [recovery] })
    const failures = vi.fn()
    m.on('failure', failures)
    const downs: DnsReport[] = []
    m.on('network-down', (r) => downs.push(r))
    const report = await m.checkNow()
    expect(report.status).toBe('network-down')
    expect(m.state).toBe('network-down')
    expect(report.system.map((r) => [r.name, r.ok])).toEqual([
      [names[0], true],
      [names[1], false],
    ])
    expect(report.system[1]!.error).toMatch(/ENOTFOUND/)
    expect(report.fallbacks.map((r) => [r.name, r.ok])).toEqual([
      [names[0], true],
      [names[1], false],
    ])
    expect(downs).toEqual([report])
    // SERVFAIL on the fallback for every name: still nothing resolves region2.
    fallback.mode = 'servfail'
    expect((await m.checkNow()).status).toBe('network-down')
    expect(failures).not.toHaveBeenCalled()
    expect(recovery).not.toHaveBeenCalled()
  })

  it('decides per name: a name the system resolver fails on and a fallback resolves is dns-failure', async () => {
    await system.stop()
    await fallback.stop()
    system = await startDnsServer({ 'region1.edge.test': ['127.0.0.2'] })
    fallback = await startDnsServer(records)
    const recovery = vi.fn()
    const m = monitor({ recovery: [recovery] })
    const report = await m.checkNow()
    expect(report.status).toBe('dns-failure')
    expect(report.system.map((r) => r.ok)).toEqual([true, false])
    expect(report.fallbacks.map((r) => r.ok)).toEqual([true, true])
    expect(recovery).toHaveBeenCalledTimes(1)
  })

  it('counts a failing system resolver as dns-failure when no fallback is configured', async () => {
    system.mode = 'servfail'
    const m = monitor({ fallbacks: [] })
    const report = await m.checkNow()
    expect(report.status).toBe('dns-failure')
    expect(report.fallbacks).toEqual([])
  })

  it("uses the operating system's lookup by default (localhost from /etc/hosts, no network)", async () => {
    const m = createDnsMonitor({
      names: ['localhost'],
      fallbacks: [fallback.address],
      timeoutMs: 1000,
      intervalMs: INTERVAL,
    })
    monitors.push(m)
    const report = await m.checkNow()
    expect(report.status).toBe('ok')
    expect(report.system).toEqual([
      expect.objectContaining({ resolver: 'system', name: 'localhost', ok: true }),
    ])
    const addresses = report.system[0]!.addresses!
    expect(addresses.length).toBeGreaterThan(0)
    for (const address of addresses) expect(address).toMatch(/^127\./)
    expect(system.queries).toBe(0)
    expect(fallback.queries).toBe(1)
  })

  it('resolves AAAA records with rrtype AAAA', async () => {
    await system.stop()
    await fallback.stop()
    const dual = { 'dual.edge.test': ['127.0.0.4', '::4'], 'v4only.edge.test': ['127.0.0.5'] }
    system = await startDnsServer(dual)
    fallback = await startDnsServer(dual)
    const m = monitor({ names: ['dual.edge.test'], rrtype: 'AAAA' })
    const report = await m.checkNow()
    expect(report.status).toBe('ok')
    expect(report.system[0]!.addresses).toEqual(['::4'])
    expect(report.fallbacks[0]!.addresses).toEqual(['::4'])
    // A name with an A record only has no AAAA answer anywhere.
    const v4only = await monitor({ names: ['v4only.edge.test'], rrtype: 'AAAA' }).checkNow()
    expect(v4only.status).toBe('network-down')
    expect(v4only.system[0]!.error).toMatch(/ENODATA/)
  })

  it('times out a query that gets no answer after timeoutMs', async () => {
    system.mode = 'drop'
    const m = monitor({ timeoutMs: 200 })
    const started = performance.now()
    const report = await m.checkNow()
    expect(performance.now() - started).toBeLessThan(3000)
    expect(report.status).toBe('dns-failure')
    expect(report.system[0]!.ok).toBe(false)
    expect(report.system[0]!.error).toMatch(/timed out|ETIMEOUT/i)
  })

  it('shares one round between concurrent checkNow calls', async () => {
    const m = monitor()
    const reports = await Promise.all([m.checkNow(), m.checkNow(), m.checkNow()])
    expect(new Set(reports).size).toBe(1)
    expect(system.queries).toBe(names.length)
  })

  it('stops on close: idempotent, and checkNow rejects afterwards', async () => {
    const m = monitor()
    m.start()
    const closing = m.close()
    expect(m.close()).toBe(closing)
    await closing
    await expect(m.checkNow()).rejects.toMatchObject({ code: 'ERR_HEALTH_DNS_CLOSED' })
    m.start() // no effect once closed
  })

  it('closes when its signal aborts, and checkNow honours a caller signal', async () => {
    const controller = new AbortController()
    system.mode = 'drop'
    const m = monitor({ signal: controller.signal, timeoutMs: 5000 })
    const caller = new AbortController()
    const pending = m.checkNow(caller.signal)
    caller.abort(new Error('caller gave up'))
    await expect(pending).rejects.toThrow('caller gave up')
    controller.abort()
    await expect(m.checkNow()).rejects.toMatchObject({ code: 'ERR_HEALTH_DNS_CLOSED' })
  })

  it('backs dnsCheck: healthy, degraded while the system resolver fails, unhealthy when nothing resolves', async () => {
    const m = monitor()
    const health = createHealth({ checks: [dnsCheck(m)], cacheTtlMs: 0, timeoutMs: 3000 })
    const component = async () => (await health.run()).components.dns!
    expect(await component()).toMatchObject({ status: 'healthy', state: 'ok' })
    system.mode = 'servfail'
    await m.checkNow()
    const degraded = await health.run()
    expect(degraded.status).toBe('degraded')
    expect(degraded.components.dns).toMatchObject({ status: 'degraded', state: 'dns-failure' })
    expect(degraded.components.dns!.error).toMatch(
      /system resolver failing.*fallback resolvers work/,
    )
    fallback.mode = 'servfail'
    await m.checkNow()
    const down = await health.run()
    expect(down.components.dns).toMatchObject({ status: 'unhealthy', state: 'network-down' })
    expect(down.status).toBe('degraded') // dnsCheck is not critical by default
    const critical = createHealth({ checks: [dnsCheck(m, { critical: true })] })
    expect((await critical.run()).status).toBe('unhealthy')
    await health.close()
    await critical.close()
  })
})
