import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { noopLogger } from '@scanner/core'
import { readConfig } from './config.js'
import {
  bannerLines,
  dnsMonitorSettings,
  lazyCheck,
  startDeployment,
  tunnelSettings,
} from './wiring.js'

describe('startDeployment', () => {
  afterEach(() => {
    process.removeAllListeners('SIGTERM')
    process.removeAllListeners('SIGINT')
  })

  it('listens, starts the tunnel with the real URL, and shuts down in order', async () => {
    const order: string[] = []
    const lines: string[] = []
    const exit = vi.fn()
    const server = createServer((_req, res) => res.end('ok'))
    const config = readConfig({ PORT: '0', TUNNEL: 'simulator', DRAIN_DELAY_MS: '0' }, [])
    const deployment = await startDeployment({
      config,
      logger: noopLogger,
      framework: 'test',
      simulatorBin: '/path/to/fake-cloudflared.mjs',
      print: (line) => lines.push(line),
      exit,
      listen: () =>
        new Promise((resolve) => {
          server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as AddressInfo
            resolve({
              url: `http://127.0.0.1:${port}`,
              server,
              close: () =>
                new Promise<void>((done) => {
                  order.push('close server')
                  server.close(() => {
                    done()
                  })
                }),
            })
          })
        }),
      startTunnel: (choice, localUrl) => {
        order.push(`start ${choice.kind} ${localUrl}`)
        return {
          stop: () => {
            order.push('stop tunnel')
            return Promise.resolve()
          },
        }
      },
      drain: () => order.push('drain'),
      closers: [{ name: 'close database', run: () => order.push('close database') }],
    })
    expect(deployment.choice.kind).toBe('simulator')
    expect(lines[0]).toBe(`Scanner API (test) listening on ${deployment.url}`)
    expect(lines[1]).toMatch(/simulator/)
    expect((await fetch(deployment.url)).status).toBe(200)

    process.emit('SIGTERM', 'SIGTERM')
    await vi.waitFor(() => {
      expect(exit).toHaveBeenCalledWith(0)
    })
    expect(order).toEqual([
      `start simulator ${deployment.url}`,
      'drain',
      'stop tunnel',
      'close server',
      'close database',
    ])
    expect(server.listening).toBe(false)
  })
})

describe('settings helpers', () => {
  it('pass only the DNS settings that were set', () => {
    expect(dnsMonitorSettings(readConfig({}, []))).toEqual({})
    expect(
      dnsMonitorSettings(
        readConfig(
          {
            DNS_FALLBACKS: '127.0.0.1:5300',
            DNS_SYSTEM_SERVERS: '127.0.0.1:5300',
            DNS_NAMES: 'a.test',
          },
          [],
        ),
      ),
    ).toEqual({
      names: ['a.test'],
      fallbacks: ['127.0.0.1:5300'],
      systemServers: ['127.0.0.1:5300'],
    })
  })

  it('give a named tunnel its token and a quick tunnel the local URL', () => {
    const config = readConfig({ TUNNEL_TOKEN: 'token-value' }, [])
    expect(
      tunnelSettings({ kind: 'named', bin: '/bin/cf', notice: '' }, config, 'http://l'),
    ).toEqual({
      bin: '/bin/cf',
      token: 'token-value',
      localUrl: 'http://l/health/live/',
    })
    expect(
      tunnelSettings(
        { kind: 'quick', bin: '/bin/cf', url: 'http://l', notice: '' },
        config,
        'http://l',
      ),
    ).toEqual({
      bin: '/bin/cf',
      url: 'http://l',
      localUrl: 'http://l/health/live/',
    })
    expect(
      tunnelSettings(
        { kind: 'simulator', bin: '/sim', notice: '', env: { A: '1' }, readyTimeoutMs: 5000 },
        config,
        'http://l',
      ),
    ).toEqual({
      bin: '/sim',
      url: 'http://l',
      localUrl: 'http://l/health/live/',
      env: { A: '1' },
      readyTimeoutMs: 5000,
    })
  })

  it('hand the DNS monitor to a real cloudflared only', () => {
    const config = readConfig({}, [])
    const dns = { state: 'ok' }
    expect(
      tunnelSettings(
        { kind: 'quick', bin: '/cf', url: 'http://l', notice: '' },
        config,
        'http://l',
        dns,
      ).dns,
    ).toBe(dns)
    expect(
      tunnelSettings({ kind: 'simulator', bin: '/sim', notice: '' }, config, 'http://l', dns).dns,
    ).toBeUndefined()
  })

  it('lazyCheck reports disabled until the real check exists', async () => {
    let real: { name: string; run: () => { status: 'degraded' } } | undefined = undefined
    const check = lazyCheck('tunnel', () => real)
    expect(check.critical).toBe(false)
    expect(await check.run(new AbortController().signal)).toEqual({
      status: 'healthy',
      state: 'disabled',
    })
    real = { name: 'tunnel', run: () => ({ status: 'degraded' }) }
    expect(await check.run(new AbortController().signal)).toEqual({ status: 'degraded' })
  })

  it('prints the URLs to try', () => {
    const lines = bannerLines('http://127.0.0.1:8000', { demo: true }, 'http://127.0.0.1:9464')
    expect(lines.join('\n')).toContain('http://127.0.0.1:8000/health/detailed/')
    expect(lines.join('\n')).toContain('http://127.0.0.1:9464/metrics')
    expect(lines.join('\n')).toContain('http://127.0.0.1:9464/api/feed/mode')
    expect(lines.join('\n')).not.toContain('8000/metrics')
    expect(bannerLines('http://127.0.0.1:8000', { demo: false }).join('\n')).not.toContain(
      '/metrics',
    )
    expect(lines.at(-1)).toMatch(/Ctrl-C/)
  })
})
