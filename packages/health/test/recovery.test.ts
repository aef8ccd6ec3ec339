import dns, { getServers, lookup as esmLookup, setServers } from 'node:dns'
import { lookup as esmPromisesLookup } from 'node:dns/promises'
import { chmod, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createServer, get, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { noopLogger } from '@scanner/core'
import {
  createDnsMonitor,
  flushSystemdResolved,
  restoreSystemResolvers,
  useFallbackResolvers,
  writeResolvConf,
  type DnsRecoveryContext,
} from '@scanner/health'
import { startDnsServer, type TestDnsServer } from './fixtures/dns-server.js'

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
  it('runs the command with flush-caches', async () => {
    const { command, log } = await fakeResolvectl()
    await flushSystemdResolved({ command })(context([]))
    expect(await readFile(log, 'utf8')).toBe('flush-caches\n')
  })

  it('runs the command without a shell: arguments arrive byte for byte', async () => {
    const log = join(dir, 'argv.json')
    const tricky = `a;b $(echo x) |c && d > e 'f' "g" \\h * \`i\` $HOME\nj`
    // `node -e script log tricky`: the child writes the arguments after `log` into `log`.
    const script = `require('node:fs').writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))`
    await flushSystemdResolved({ command: process.execPath, args: ['-e', script, log, tricky] })(
      context([]),
    )
    expect(JSON.parse(await readFile(log, 'utf8'))).toEqual([tricky])
    expect(await readdir(dir)).toEqual(['argv.json']) // no file "e" from a redirection
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

/** GETs a URL with node:http (which looks names up with dns.lookup) and returns the body. */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => {
        resolve(body)
      })
    }).on('error', reject)
  })
}

/** dns.lookup with its callback turned into [address, family] or the array of `all: true`. */
function lookupWith(hostname: string, options?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const callback = (error: Error | null, address: unknown, family?: number): void => {
      if (error) reject(error)
      else resolve(Array.isArray(address) ? address : [address, family])
    }
    if (options === undefined) dns.lookup(hostname, callback as never)
    else dns.lookup(hostname, options as never, callback as never)
  })
}

describe('useFallbackResolvers', () => {
  const real = { lookup: dns.lookup, promisesLookup: dns.promises.lookup }
  let servers: string[]
  let fallback: TestDnsServer
  let app: Server
  let port: number

  beforeEach(async () => {
    servers = getServers()
    fallback = await startDnsServer({
      'app.test': ['127.0.0.1'],
      'v6.app.test': ['::1'],
      'watched.test': ['127.0.0.8'],
    })
    app = createServer((_request, response) => {
      response.end('hello from app.test')
    })
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    port = (app.address() as AddressInfo).port
  })

  afterEach(async () => {
    restoreSystemResolvers()
    // Put back the real functions even where a test installed stand-ins as "the originals".
    Object.assign(dns, { lookup: real.lookup })
    Object.assign(dns.promises, { lookup: real.promisesLookup })
    setServers(servers)
    syncBuiltinESMExports()
    app.closeAllConnections()
    await new Promise((resolve) => app.close(resolve))
    await fallback.stop()
  })

  /** Installs stand-ins as the system lookups, answering 127.0.0.7 for every name. */
  function fakeSystemLookups(): { calls: unknown[][] } {
    const calls: unknown[][] = []
    const answer = { address: '127.0.0.7', family: 4 }
    Object.assign(dns, {
      lookup: (...args: unknown[]) => {
        calls.push(args)
        const callback = args.find((a) => typeof a === 'function') as (...r: unknown[]) => void
        const all = (args[1] as { all?: boolean } | undefined)?.all === true
        setImmediate(() => {
          if (all) callback(null, [answer])
          else callback(null, answer.address, answer.family)
        })
      },
    })
    Object.assign(dns.promises, {
      lookup: (...args: unknown[]) => {
        calls.push(args)
        const all = (args[1] as { all?: boolean } | undefined)?.all === true
        return Promise.resolve(all ? [answer] : answer)
      },
    })
    return { calls }
  }

  it("switches the process's node:dns servers to the fallbacks", () => {
    useFallbackResolvers()(context(['127.0.0.1:5353', '[::1]:53']))
    expect(getServers()).toEqual(['127.0.0.1:5353', '::1'])
  })

  it('uses the servers it was given', () => {
    useFallbackResolvers({ servers: ['127.0.0.9'] })(context(['127.0.0.1:5353']))
    expect(getServers()).toEqual(['127.0.0.9'])
    expect(() => useFallbackResolvers({ servers: ['not-an-ip'] })).toThrow(/"servers\[0\]"/)
  })

  it("makes the process's own connections (http.get, fetch) resolve through the fallbacks", async () => {
    useFallbackResolvers()(context([fallback.address]))
    expect(dns.lookup).not.toBe(real.lookup)
    expect(await httpGet(`http://app.test:${port}/`)).toBe('hello from app.test')
    const response = await fetch(`http://app.test:${port}/`)
    expect(await response.text()).toBe('hello from app.test')
    expect(fallback.queries).toBeGreaterThanOrEqual(2)
  })

  it('keeps the signatures of dns.lookup: family, all, IP literals, localhost, promises', async () => {
    useFallbackResolvers()(context([fallback.address]))
    expect(await lookupWith('app.test')).toEqual(['127.0.0.1', 4])
    expect(await lookupWith('app.test', 4)).toEqual(['127.0.0.1', 4])
    expect(await lookupWith('app.test', { family: 'IPv4' })).toEqual(['127.0.0.1', 4])
    expect(await lookupWith('app.test', { all: true })).toEqual([
      { address: '127.0.0.1', family: 4 },
    ])
    expect(await lookupWith('v6.app.test', { family: 6 })).toEqual(['::1', 6])
    expect(await lookupWith('v6.app.test', { family: 'IPv6', all: true })).toEqual([
      { address: '::1', family: 6 },
    ])
    // IP literals pass straight through, in both callback forms.
    expect(await lookupWith('127.0.0.5')).toEqual(['127.0.0.5', 4])
    expect(await lookupWith('::1', { all: true })).toEqual([{ address: '::1', family: 6 }])
    // localhost comes from the original lookup (/etc/hosts); it never reaches the fallback.
    const queries = fallback.queries
    const [address] = (await lookupWith('localhost', 4)) as [string]
    expect(address).toMatch(/^127\./)
    expect(fallback.queries).toBe(queries)
    // Invalid arguments still throw as the original does.
    expect(() => {
      dns.lookup('app.test', { family: 5 } as never, () => undefined)
    }).toThrow()
    // The promise forms follow too, including ES module imports and util.promisify.
    expect(await dns.promises.lookup('app.test')).toEqual({ address: '127.0.0.1', family: 4 })
    expect(await esmPromisesLookup('app.test', { all: true })).toEqual([
      { address: '127.0.0.1', family: 4 },
    ])
    expect(await promisify(dns.lookup)('app.test')).toEqual({ address: '127.0.0.1', family: 4 })
    expect(esmLookup).toBe(dns.lookup)
  })

  it('hands names the fallbacks cannot resolve, or any failure, to the original lookup', async () => {
    const { calls } = fakeSystemLookups()
    useFallbackResolvers({ timeoutMs: 50 })(context([fallback.address]))
    // NXDOMAIN from the fallback: the original gets the same arguments.
    expect(await lookupWith('private.test', { all: true })).toEqual([
      { address: '127.0.0.7', family: 4 },
    ])
    expect(calls.at(-1)?.slice(0, 2)).toEqual(['private.test', { all: true }])
    expect(await dns.promises.lookup('private.test')).toEqual({ address: '127.0.0.7', family: 4 })
    // A name the fallback knows, but only as IPv4, asked as IPv6.
    expect(await lookupWith('app.test', 6)).toEqual(['127.0.0.7', 4])
    // The fallback stops answering: after the time limit, the original answers.
    fallback.mode = 'drop'
    expect(await lookupWith('app.test')).toEqual(['127.0.0.7', 4])
    expect(calls).toHaveLength(4)
  })

  it('leaves the DNS monitor watching the original lookup', async () => {
    fakeSystemLookups()
    useFallbackResolvers()(context([fallback.address]))
    expect(await dns.promises.lookup('watched.test')).toEqual({ address: '127.0.0.8', family: 4 })
    const monitor = createDnsMonitor({ names: ['watched.test'], fallbacks: [fallback.address] })
    try {
      const report = await monitor.checkNow()
      expect(report.system[0]!.addresses).toEqual(['127.0.0.7'])
      expect(report.fallbacks[0]!.addresses).toEqual(['127.0.0.8'])
    } finally {
      await monitor.close()
    }
  })

  it('restoreSystemResolvers puts back the originals of the first run; idempotent', async () => {
    const action = useFallbackResolvers()
    action(context([fallback.address]))
    action(context([fallback.address])) // does not wrap its own replacement
    useFallbackResolvers({ servers: ['127.0.0.9'] })(context([]))
    expect(getServers()).toEqual(['127.0.0.9'])
    expect(dns.lookup).not.toBe(real.lookup)
    restoreSystemResolvers()
    expect(dns.lookup).toBe(real.lookup)
    expect(dns.promises.lookup).toBe(real.promisesLookup)
    expect(esmLookup).toBe(real.lookup)
    expect(esmPromisesLookup).toBe(real.promisesLookup)
    expect(getServers()).toEqual(servers)
    restoreSystemResolvers()
    expect(dns.lookup).toBe(real.lookup)
    expect(getServers()).toEqual(servers)
    // A later switch captures the originals afresh.
    action(context([fallback.address]))
    expect(await lookupWith('app.test')).toEqual(['127.0.0.1', 4])
    restoreSystemResolvers()
    expect(dns.lookup).toBe(real.lookup)
  })

  it('with lookup: false, switches only the servers', () => {
    useFallbackResolvers({ lookup: false })(context([fallback.address]))
    expect(getServers()).toEqual([fallback.address])
    expect(dns.lookup).toBe(real.lookup)
    expect(dns.promises.lookup).toBe(real.promisesLookup)
  })

  it('validates its options', () => {
    expect(() => useFallbackResolvers({ lookup: 'yes' as never })).toThrow(/"lookup"/)
    expect(() => useFallbackResolvers({ timeoutMs: 0 })).toThrow(/"timeoutMs"/)
    expect(() => useFallbackResolvers({ servers: [] })).toThrow(/"servers"/)
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
