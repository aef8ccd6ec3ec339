import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chooseTunnel, findExecutable } from './cloudflared.js'
import { readConfig } from './config.js'

const dir = mkdtempSync(join(tmpdir(), 'scanner-bin-'))
const fakeBin = join(dir, 'cloudflared')
writeFileSync(fakeBin, '#!/bin/sh\nexit 0\n')
chmodSync(fakeBin, 0o755)
writeFileSync(join(dir, 'not-executable'), '')
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('readConfig', () => {
  it('has defaults for a person on a laptop', () => {
    expect(readConfig({}, [])).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      databasePath: undefined,
      feedMode: 'ok',
      tunnel: 'auto',
      tunnelToken: undefined,
      dnsCheck: true,
      dnsFallbacks: undefined,
      logFormat: 'json',
      demo: false,
    })
  })

  it('reads every variable', () => {
    const config = readConfig(
      {
        HOST: '0.0.0.0',
        PORT: '0',
        DATABASE_PATH: '/tmp/x.sqlite',
        FEED_MODE: 'fail',
        TUNNEL: 'off',
        TUNNEL_TOKEN: ' secret-token ',
        DNS_CHECK: 'off',
        DNS_FALLBACKS: '127.0.0.1:5353, 127.0.0.2',
        DNS_NAMES: 'example.test',
        LOG_LEVEL: 'debug',
        SHUTDOWN_TIMEOUT_MS: '5000',
      },
      ['--demo'],
    )
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      databasePath: '/tmp/x.sqlite',
      feedMode: 'fail',
      tunnel: 'off',
      tunnelToken: 'secret-token',
      dnsCheck: false,
      dnsFallbacks: ['127.0.0.1:5353', '127.0.0.2'],
      dnsNames: ['example.test'],
      logLevel: 'debug',
      logFormat: 'pretty',
      shutdownTimeoutMs: 5000,
      demo: true,
    })
    expect(readConfig({ DNS_FALLBACKS: '' }, []).dnsFallbacks).toEqual([])
  })

  it('drains for 10 s by default (production), not in demo or development mode', () => {
    expect(readConfig({ NODE_ENV: 'production' }, []).drainDelayMs).toBe(10_000)
    expect(readConfig({ NODE_ENV: 'production' }, ['--demo']).drainDelayMs).toBe(0)
    expect(readConfig({ NODE_ENV: 'development' }, []).drainDelayMs).toBe(0)
    expect(readConfig({}, []).drainDelayMs).toBe(10_000)
    expect(readConfig({ NODE_ENV: 'production', DRAIN_DELAY_MS: '0' }, []).drainDelayMs).toBe(0)
    expect(readConfig({ DRAIN_DELAY_MS: '2500' }, []).drainDelayMs).toBe(2500)
  })

  it('reads the operator port, 0 included', () => {
    expect(readConfig({}, [])).toMatchObject({ adminHost: '127.0.0.1', adminPort: 9464 })
    expect(readConfig({ ADMIN_HOST: '::1', ADMIN_PORT: '0' }, [])).toMatchObject({
      adminHost: '::1',
      adminPort: 0,
    })
    expect(() => readConfig({ ADMIN_PORT: 'x' }, [])).toThrow(/"ADMIN_PORT"/)
  })

  it('documents every variable it reads in the Common settings table of examples/README.md', () => {
    const source = readFileSync(new URL('./config.ts', import.meta.url), 'utf8')
    const names = new Set([
      ...[...source.matchAll(/env,\s*'([A-Z_]+)'/g)].map((m) => m[1]),
      ...[...source.matchAll(/env\.([A-Z_]+)/g)].map((m) => m[1]),
    ])
    expect(names.size).toBeGreaterThanOrEqual(20)
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const table = readme.slice(readme.indexOf('## Common settings'))
    for (const name of names) expect(table, name).toMatch(new RegExp(`^\\| \`${name ?? ''}\``, 'm'))
  })

  it('names the variable that is wrong', () => {
    expect(() => readConfig({ PORT: '80a' }, [])).toThrow(/"PORT"/)
    expect(() => readConfig({ PORT: '70000' }, [])).toThrow(/"PORT"/)
    expect(() => readConfig({ TUNNEL: 'maybe' }, [])).toThrow(
      /"TUNNEL": expected one of auto, simulator, off/,
    )
    expect(() => readConfig({ DNS_CHECK: 'perhaps' }, [])).toThrow(/"DNS_CHECK"/)
    expect(() => readConfig({ FEED_MODE: 'down' }, [])).toThrow(/"FEED_MODE"/)
  })
})

describe('chooseTunnel', () => {
  const context = { localUrl: 'http://127.0.0.1:8000', simulatorBin: '/sim.mjs', env: { PATH: '' } }

  it('uses the simulator without cloudflared, and says so', () => {
    const choice = chooseTunnel(
      { tunnel: 'auto', tunnelToken: undefined, cloudflaredBin: undefined },
      context,
    )
    expect(choice).toMatchObject({ kind: 'simulator', bin: '/sim.mjs' })
    expect(choice.notice).toMatch(/cloudflared is not installed.*simulator/)
  })

  it('runs a quick tunnel, or a named one with a token', () => {
    const env = { PATH: dir }
    expect(findExecutable('cloudflared', env)).toBe(fakeBin)
    expect(findExecutable('not-executable', env)).toBeUndefined()
    expect(
      chooseTunnel(
        { tunnel: 'auto', tunnelToken: undefined, cloudflaredBin: undefined },
        { ...context, env },
      ),
    ).toMatchObject({
      kind: 'quick',
      bin: fakeBin,
      url: 'http://127.0.0.1:8000',
    })
    const named = chooseTunnel(
      { tunnel: 'auto', tunnelToken: 'tok-123456', cloudflaredBin: fakeBin },
      context,
    )
    expect(named).toMatchObject({ kind: 'named', bin: fakeBin })
    expect(named.notice).not.toContain('tok-123456')
  })

  it('honours TUNNEL=off and TUNNEL=simulator', () => {
    expect(
      chooseTunnel({ tunnel: 'off', tunnelToken: 't', cloudflaredBin: fakeBin }, context).kind,
    ).toBe('off')
    expect(
      chooseTunnel({ tunnel: 'simulator', tunnelToken: 't', cloudflaredBin: fakeBin }, context)
        .kind,
    ).toBe('simulator')
  })

  it('refuses a CLOUDFLARED_BIN that is not executable', () => {
    expect(() =>
      chooseTunnel(
        { tunnel: 'auto', tunnelToken: undefined, cloudflaredBin: join(dir, 'not-executable') },
        context,
      ),
    ).toThrow(/CLOUDFLARED_BIN/)
  })
})
