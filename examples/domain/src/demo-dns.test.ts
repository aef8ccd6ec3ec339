import { Resolver } from 'node:dns/promises'
import { createSocket } from 'node:dgram'
import { isIP } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createDnsMonitor } from '@scanner/health'
import {
  DEMO_DNS_NAMES,
  answerDnsQuery,
  narrateDns,
  startDemoDns,
  startDemoDnsServer,
} from './demo-dns.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function resolverFor(address: string): Resolver {
  const resolver = new Resolver({ timeout: 500, tries: 1 })
  resolver.setServers([address])
  return resolver
}

const isLoopback = (server: string): boolean => {
  const host = server.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return (isIP(host) === 4 && host.startsWith('127.')) || host === '::1'
}

describe('demo DNS server', () => {
  it('answers the edge names on 127.0.0.1, SERVFAIL or silence when told, NXDOMAIN otherwise', async () => {
    const server = await startDemoDnsServer()
    cleanups.push(() => server.close())
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/)
    const resolver = resolverFor(server.address)
    expect(await resolver.resolve4('region1.v2.argotunnel.com')).toEqual(['198.51.100.7'])
    expect(await resolver.resolve4('REGION2.v2.argotunnel.com')).toEqual(['198.51.100.8'])
    await expect(resolver.resolve6('region1.v2.argotunnel.com')).rejects.toMatchObject({
      code: 'ENODATA',
    })
    await expect(resolver.resolve4('example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' })
    server.mode = 'servfail'
    await expect(resolver.resolve4('region1.v2.argotunnel.com')).rejects.toMatchObject({
      code: 'ESERVFAIL',
    })
    server.mode = 'drop'
    await expect(resolver.resolve4('region1.v2.argotunnel.com')).rejects.toMatchObject({
      code: 'ETIMEOUT',
    })
    expect(server.queries).toBeGreaterThanOrEqual(6)
    await server.close()
    await server.close()
  })

  it('ignores what is not a well-formed query, and survives garbage on its socket', async () => {
    expect(answerDnsQuery(Buffer.alloc(5), new Map())).toBeUndefined()
    const response = Buffer.alloc(17)
    response[2] = 0x80 // QR: a response
    response.writeUInt16BE(1, 4)
    expect(answerDnsQuery(response, new Map())).toBeUndefined()
    const pointer = Buffer.alloc(17)
    pointer.writeUInt16BE(1, 4)
    pointer[12] = 0xc0 // a compression pointer in the question
    expect(answerDnsQuery(pointer, new Map())).toBeUndefined()
    expect(answerDnsQuery(Buffer.alloc(600), new Map())).toBeUndefined()

    const server = await startDemoDnsServer()
    cleanups.push(() => server.close())
    const socket = createSocket('udp4')
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          socket.close(() => {
            resolve()
          })
        }),
    )
    for (const size of [0, 3, 12, 100, 511]) {
      await new Promise<void>((resolve) => {
        socket.send(Buffer.alloc(size, 0xff), server.port, '127.0.0.1', () => {
          resolve()
        })
      })
    }
    expect(await resolverFor(server.address).resolve4('region1.v2.argotunnel.com')).toHaveLength(1)
  })
})

describe('startDemoDns', () => {
  it('configures only loopback resolvers, and a DNS outage goes: detected, fallback recovery, recovered', async () => {
    const lines: string[] = []
    const print = (line: string): void => {
      lines.push(line)
    }
    const demoDns = await startDemoDns({ print })
    cleanups.push(() => demoDns.close())
    const { monitorSettings } = demoDns
    expect(monitorSettings.names).toEqual([...DEMO_DNS_NAMES])
    const resolvers = [...monitorSettings.systemServers, ...monitorSettings.fallbacks]
    expect(resolvers).toHaveLength(2)
    expect(resolvers.filter((server) => !isLoopback(server))).toEqual([])

    const monitor = createDnsMonitor(monitorSettings)
    cleanups.push(() => monitor.close())
    const off = narrateDns(monitor, print)
    cleanups.push(off)
    expect((await monitor.checkNow()).status).toBe('ok')

    demoDns.outage()
    const failed = await monitor.checkNow()
    expect(failed.status).toBe('dns-failure')
    // The queries reached the demo's own servers.
    expect(demoDns.system.queries).toBeGreaterThanOrEqual(4)
    expect(demoDns.fallback.queries).toBeGreaterThanOrEqual(2)
    expect(failed.fallbacks.map((r) => r.resolver)).toEqual([
      demoDns.fallback.address,
      demoDns.fallback.address,
    ])
    await expect.poll(() => demoDns.system.mode).toBe('answer') // the recovery action ran
    expect((await monitor.checkNow()).status).toBe('ok')
    expect(monitor.state).toBe('ok')
    expect(lines).toEqual([
      '>>> DNS failure detected: the system resolver fails, a fallback resolver answers',
      expect.stringMatching(
        /^>>> DNS recovery: the fallback resolver 127\.0\.0\.1:\d+ still answers/,
      ),
      expect.stringMatching(
        /^>>> DNS recovered: the system resolver answers again after \d+\.\d s$/,
      ),
    ])
  })
})
