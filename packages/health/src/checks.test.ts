import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseCheck, httpCheck, systemCheck } from './checks.js'
import { createDnsMonitor, dnsCheck } from './dns.js'
import { createHealth } from './health.js'

const signal = new AbortController().signal

describe('systemCheck', () => {
  it('reports CPU, memory, load and event-loop delay', async () => {
    expect(systemCheck()).toMatchObject({ name: 'system', critical: false })
    // Thresholds out of reach: the figures depend on the machine, the status must not.
    const check = systemCheck({ cpuPercent: 100, memoryPercent: 100, eventLoopDelayMs: 600_000 })
    const details = await check.run(signal)
    expect(details.status).toBe('healthy')
    expect(details.cpu_percent).toBeTypeOf('number')
    expect(details.memory_percent).toBeGreaterThan(0)
    expect(details.load_avg).toHaveLength(3)
    expect(details.event_loop_delay_ms).toBeTypeOf('number')
    check.close()
    check.close()
  })

  it('degrades when a threshold is crossed', async () => {
    const check = systemCheck({ memoryPercent: 0, cpuPercent: 100 })
    const details = await check.run(signal)
    expect(details.status).toBe('degraded')
    expect(details.error).toMatch(/^memory .*% > 0%$/)
    check.close()
  })

  it('measures event-loop delay', async () => {
    const check = systemCheck({ eventLoopDelayMs: 20, cpuPercent: 100, memoryPercent: 100 })
    await check.run(signal)
    await new Promise((resolve) => setTimeout(resolve, 30))
    const end = Date.now() + 80
    while (Date.now() < end) {
      // block the event loop
    }
    await new Promise((resolve) => setTimeout(resolve, 30))
    const details = await check.run(signal)
    expect(details.event_loop_delay_ms).toBeGreaterThan(20)
    expect(details.status).toBe('degraded')
    check.close()
  })

  it('validates thresholds', () => {
    expect(() => systemCheck({ cpuPercent: 101 })).toThrow(/"cpuPercent"/)
    expect(() => systemCheck({ name: '' })).toThrow(/"name"/)
  })
})

describe('httpCheck', () => {
  let server: Server
  let base: string
  const hanging: IncomingMessage[] = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') {
        hanging.push(req)
        return
      }
      res.statusCode = req.url === '/fail' ? 503 : 200
      res.end('body')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it('is healthy on an expected status and reports latency', async () => {
    const check = httpCheck({ url: `${base}/ok` })
    expect(check.name).toBe(new URL(base).host)
    const details = await check.run(signal)
    expect(details).toMatchObject({ status: 'healthy', status_code: 200 })
    expect(details.latency_ms).toBeTypeOf('number')
  })

  it('is unhealthy on an unexpected status', async () => {
    const details = await httpCheck({ url: `${base}/fail`, name: 'upstream' }).run(signal)
    expect(details).toMatchObject({
      status: 'unhealthy',
      status_code: 503,
      error: 'expected status 2xx or 3xx, got 503',
    })
    const accepted = await httpCheck({ url: `${base}/fail`, expectStatus: [200, 503] }).run(signal)
    expect(accepted.status).toBe('healthy')
  })

  it('stops when its signal aborts', async () => {
    const controller = new AbortController()
    const pending = httpCheck({ url: `${base}/hang`, method: 'HEAD' }).run(controller.signal)
    controller.abort(new Error('timed out'))
    expect(await pending).toMatchObject({ status: 'unhealthy' })
  })

  it('times out after its timeoutMs, aborting the request', async () => {
    const check = httpCheck({ url: `${base}/hang`, name: 'slow', timeoutMs: 100 })
    expect(check.timeoutMs).toBe(100)
    const health = createHealth({ checks: [check], deadlineMs: 5000 })
    const before = hanging.length
    const started = performance.now()
    const report = await health.run()
    // Ended by the check's own 100 ms timeout, far from the 5 s request deadline.
    expect(performance.now() - started).toBeLessThan(4000)
    expect(report.components.slow).toMatchObject({
      status: 'unhealthy',
      error: 'timed out after 100 ms',
    })
    // A request that reached the server is cancelled, not left open (one that had not reached
    // it yet in 100 ms never will).
    for (const request of hanging.slice(before)) {
      if (!request.destroyed) await new Promise((resolve) => request.once('close', resolve))
      expect(request.destroyed).toBe(true)
    }
    await health.close()
  })

  it('is unhealthy when nothing listens', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const details = await httpCheck({ url: `http://127.0.0.1:${port}/` }).run(signal)
    expect(details.status).toBe('unhealthy')
    expect(details.error).toMatch(/ECONNREFUSED/)
  })

  it('validates its options', () => {
    expect(() => httpCheck({ url: 'ftp://x' })).toThrow(/"url"/)
    expect(() => httpCheck({ url: 'nope' })).toThrow(/"url"/)
    expect(() => httpCheck({ url: base, expectStatus: [] })).toThrow(/"expectStatus"/)
    expect(() => httpCheck({ url: base, method: 'POST' as never })).toThrow(/"method"/)
  })
})

describe('databaseCheck', () => {
  it('reports latency, passes the signal, and reports ping errors', async () => {
    let seen: AbortSignal | undefined
    const ok = databaseCheck({ ping: (s) => (seen = s) })
    expect(ok).toMatchObject({ name: 'database', critical: true })
    expect(await ok.run(signal)).toMatchObject({ status: 'healthy' })
    expect(seen).toBe(signal)
    const failing = databaseCheck({
      name: 'pg',
      critical: false,
      timeoutMs: 200,
      ping: () => Promise.reject(new Error('ECONNREFUSED')),
    })
    expect(failing).toMatchObject({ name: 'pg', critical: false, timeoutMs: 200 })
    expect(await failing.run(signal)).toMatchObject({ status: 'unhealthy', error: 'ECONNREFUSED' })
    expect(() => databaseCheck({} as never)).toThrow(/"ping"/)
  })
})

describe('DNS monitor options', () => {
  it('validates its options, naming the option', () => {
    expect(() => createDnsMonitor({ fallbacks: ['dns.google'] })).toThrow(/"fallbacks\[0\]"/)
    expect(() => createDnsMonitor({ fallbacks: ['127.0.0.1:99999'] })).toThrow(/"fallbacks\[0\]"/)
    expect(() => createDnsMonitor({ names: [] })).toThrow(/"names"/)
    expect(() => createDnsMonitor({ systemServers: [] })).toThrow(/"systemServers"/)
    expect(() => createDnsMonitor({ intervalMs: 0 })).toThrow(/"intervalMs"/)
    expect(() => createDnsMonitor({ rrtype: 'MX' as never })).toThrow(/"rrtype"/)
    expect(() => createDnsMonitor({ recovery: ['flush'] as never })).toThrow(/"recovery"/)
    expect(() => dnsCheck({} as never)).toThrow(/"monitor"/)
  })

  it('has the documented defaults without touching the network', async () => {
    const monitor = createDnsMonitor()
    expect(monitor.state).toBe('unknown')
    expect(monitor.lastReport).toBeUndefined()
    expect(dnsCheck(monitor)).toMatchObject({ name: 'dns', critical: false })
    await monitor.close()
  })
})
