import { createTunnel, isTunnelError } from '@scanner/tunnel'
import { fakeCloudflaredEnv } from '@scanner/tunnel/testing'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  recordingLogger,
  stopAll,
  tempDir,
  testToken,
  TOKEN_SECRET,
  tunnelFor,
  waitFor,
} from './helpers.js'

afterEach(stopAll)

describe('token handling', () => {
  it('passes the token only through TUNNEL_TOKEN and never logs it', async () => {
    const record = join(tempDir(), 'record.json')
    const logger = recordingLogger()
    const tunnel = tunnelFor({
      env: fakeCloudflaredEnv('normal', { echoToken: true, record }),
      logger,
      logLevel: 'debug',
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    const pid = tunnel.pid!
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    expect(cmdline).toContain('tunnel')
    expect(cmdline).toContain('--no-autoupdate')
    expect(cmdline).not.toContain(testToken)
    expect(cmdline).not.toContain(TOKEN_SECRET)
    const recorded = JSON.parse(readFileSync(record, 'utf8')) as {
      argv: string[]
      env: Record<string, string>
    }
    expect(recorded.env.TUNNEL_TOKEN).toBe(testToken)
    expect(recorded.argv.join(' ')).not.toContain(testToken)
    expect(recorded.argv).toEqual(
      expect.arrayContaining([
        '--metrics',
        '--grace-period',
        '--loglevel',
        '--transport-loglevel',
        'warn',
        'run',
      ]),
    )
    // The simulator printed the token (ECHO_TOKEN): every copy must be scrubbed.
    await waitFor(
      () => tunnel.status().lastLines.some((l) => l.includes('[REDACTED]')),
      5000,
      'echo',
    )
    await tunnel.stop()
    expect(logger.records.length).toBeGreaterThan(10)
    for (const record of logger.records) {
      const text = JSON.stringify(record)
      expect(text).not.toContain(testToken)
      expect(text).not.toContain(TOKEN_SECRET)
    }
    expect(logger.records.some((r) => r.bindings.module === 'cloudflared')).toBe(true)
    const status = JSON.stringify(tunnel.status())
    expect(status).not.toContain(testToken)
    expect(status).not.toContain(TOKEN_SECRET)
  })

  it('supports a token file (--token-file) and scrubs its content', async () => {
    const dir = tempDir()
    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, `${testToken}\n`, { mode: 0o600 })
    const record = join(dir, 'record.json')
    const tunnel = tunnelFor({
      token: undefined,
      tokenFile,
      env: fakeCloudflaredEnv('normal', { record, echoToken: true }),
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    const recorded = JSON.parse(readFileSync(record, 'utf8')) as {
      argv: string[]
      env: Record<string, string>
    }
    expect(recorded.argv.slice(-3)).toEqual(['run', '--token-file', tokenFile])
    expect(recorded.env.TUNNEL_TOKEN).toBeUndefined()
    expect(JSON.stringify(tunnel.status())).not.toContain(testToken)
  })

  it('never echoes the token in option errors', () => {
    for (const options of [
      { token: testToken, tokenFile: '/tmp/x' },
      { token: testToken, url: 'http://127.0.0.1:1' },
      { token: testToken, args: ['--token', testToken] },
      { token: ' ' },
    ]) {
      let error: unknown
      try {
        createTunnel(options)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(TypeError)
      expect((error as Error).message).not.toContain(testToken)
    }
  })

  it('validates options with errors that name the option', () => {
    const cases: [object, string][] = [
      [{}, 'token'],
      [{ token: testToken, protocol: 'udp' }, 'protocol'],
      [{ token: testToken, gracePeriodMs: 200_000 }, 'gracePeriodMs'],
      [{ token: testToken, args: ['--metrics', '1.2.3.4:1'] }, 'args'],
      [{ token: testToken, args: 'run' }, 'args'],
      [{ token: testToken, backoff: { factor: 0.5 } }, 'backoff.factor'],
      [{ token: testToken, quicTimeouts: { threshold: 0 } }, 'quicTimeouts.threshold'],
      [{ token: testToken, protocolFallback: 'yes' }, 'protocolFallback'],
      [{ token: testToken, publicUrl: 'ftp://x' }, 'publicUrl'],
      [{ token: testToken, dns: {} }, 'dns'],
      [{ token: testToken, logger: console.log }, 'logger'],
      [{ token: testToken, readyTimeoutMs: -1 }, 'readyTimeoutMs'],
      [{ url: 'not a url' }, 'url'],
    ]
    for (const [options, name] of cases) {
      expect(() => createTunnel(options as never), name).toThrow(`"${name}"`)
    }
    expect(isTunnelError(new TypeError('x'))).toBe(false)
  })
})
