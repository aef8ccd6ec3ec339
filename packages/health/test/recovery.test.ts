import { getServers, setServers } from 'node:dns'
import { chmod, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { noopLogger } from '@scanner/core'
import {
  createDnsMonitor,
  flushSystemdResolved,
  useFallbackResolvers,
  writeResolvConf,
  type DnsRecoveryContext,
} from '@scanner/health'
import { startDnsServer } from './fixtures/dns-server.js'

const report = {
  time: new Date().toISOString(),
  status: 'dns-failure',
  system: [],
  fallbacks: [],
} as const

function context(fallbacks: string[], signal = new AbortController().signal): DnsRecoveryContext {
  return { report: { ...report, system: [], fallbacks: [] }, fallbacks, signal, logger: noopLogger }
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scanner-health-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A stand-in for resolvectl: records its arguments in a file, exits with the given code. */
async function fakeResolvectl(exitCode = 0): Promise<{ command: string; log: string }> {
  const log = join(dir, 'calls.log')
  const command = join(dir, 'fake-resolvectl')
  await writeFile(
    command,
    `#!/bin/sh\necho "$@" >> '${log}'\necho "flush failed" >&2\nexit ${exitCode}\n`,
  )
  await chmod(command, 0o755)
  return { command, log }
}

describe('flushSystemdResolved', () => {
  it('runs the command with flush-caches, without a shell', async () => {
    const { command, log } = await fakeResolvectl()
    await flushSystemdResolved({ command })(context([]))
    expect(await readFile(log, 'utf8')).toBe('flush-caches\n')
  })

  it('rejects when the command fails, so the monitor logs it', async () => {
    const { command } = await fakeResolvectl(1)
    await expect(flushSystemdResolved({ command })(context([]))).rejects.toThrow(
      /flush failed|exit code 1/,
    )
  })

  it('runs once per failure episode from a monitor on loopback DNS servers', async () => {
    const { command, log } = await fakeResolvectl()
    const records = { 'edge.test': ['127.0.0.2'] }
    const system = await startDnsServer(records)
    const fallback = await startDnsServer(records)
    const monitor = createDnsMonitor({
      names: ['edge.test'],
      systemServers: [system.address],
      fallbacks: [fallback.address],
      recovery: [flushSystemdResolved({ command })],
    })
    try {
      system.mode = 'servfail'
      await monitor.checkNow()
      await monitor.checkNow()
      await monitor.checkNow()
      expect(await readFile(log, 'utf8')).toBe('flush-caches\n')
    } finally {
      await monitor.close()
      await system.stop()
      await fallback.stop()
    }
  })

  it('validates its options', () => {
    expect(() => flushSystemdResolved({ command: '' })).toThrow(/"command"/)
    expect(() => flushSystemdResolved({ timeoutMs: -1 })).toThrow(/"timeoutMs"/)
  })
})

describe('useFallbackResolvers', () => {
  let saved: string[]
  beforeEach(() => {
    saved = getServers()
  })
  afterEach(() => {
    setServers(saved)
  })

  it("switches the process's node:dns servers to the fallbacks", () => {
    useFallbackResolvers()(context(['127.0.0.1:5353', '[::1]:53']))
    expect(getServers()).toEqual(['127.0.0.1:5353', '::1'])
  })

  it('uses the servers it was given', () => {
    useFallbackResolvers({ servers: ['127.0.0.9'] })(context(['127.0.0.1:5353']))
    expect(getServers()).toEqual(['127.0.0.9'])
    expect(() => useFallbackResolvers({ servers: ['not-an-ip'] })).toThrow(/"servers\[0\]"/)
  })
})

describe('writeResolvConf', () => {
  it('replaces the name servers atomically, keeps search/options, and backs up the original', async () => {
    const path = join(dir, 'resolv.conf')
    const original =
      '# managed by hand\nsearch corp.example\nnameserver 127.0.0.53\noptions edns0 trust-ad\n'
    await writeFile(path, original, { mode: 0o640 })
    const action = writeResolvConf({ path })
    await action(context(['127.0.0.1:53', '127.0.0.2:53', '127.0.0.3:5353']))
    const written = await readFile(path, 'utf8')
    expect(written).toMatch(
      /^# Written by @scanner\/health DNS recovery at .*; previous file: .*resolv\.conf\.bak\n/,
    )
    expect(written).toContain('search corp.example\n')
    expect(written).toContain('options edns0 trust-ad\n')
    expect(written).not.toContain('127.0.0.53')
    expect(written.endsWith('nameserver 127.0.0.1\nnameserver 127.0.0.2\n')).toBe(true)
    expect(await readFile(`${path}.bak`, 'utf8')).toBe(original)
    expect((await stat(path)).mode & 0o777).toBe(0o640)
    expect((await readdir(dir)).sort()).toEqual(['resolv.conf', 'resolv.conf.bak'])

    // A second episode finds the file already switched: the original backup is kept.
    await action(context(['127.0.0.1:53', '127.0.0.2:53']))
    expect(await readFile(`${path}.bak`, 'utf8')).toBe(original)
    expect(await readFile(path, 'utf8')).toBe(written)
  })

  it('refuses to replace a symbolic link', async () => {
    const target = join(dir, 'stub-resolv.conf')
    await writeFile(target, 'nameserver 127.0.0.53\n')
    const path = join(dir, 'resolv.conf')
    await symlink(target, path)
    await expect(writeResolvConf({ path })(context(['127.0.0.1:53']))).rejects.toMatchObject({
      code: 'ERR_HEALTH_RESOLV_CONF_SYMLINK',
    })
    expect(await readFile(target, 'utf8')).toBe('nameserver 127.0.0.53\n')
  })

  it('refuses fallbacks that resolv.conf cannot express (another port)', async () => {
    const path = join(dir, 'resolv.conf')
    await expect(writeResolvConf({ path })(context(['127.0.0.1:5353']))).rejects.toMatchObject({
      code: 'ERR_HEALTH_RESOLV_CONF_NO_SERVERS',
    })
    expect(() => writeResolvConf({ path, servers: ['127.0.0.1:5353'] })).toThrow(/"servers"/)
    expect(() => writeResolvConf({} as never)).toThrow(/"path"/)
  })
})
