import dns, { type LookupAddress } from 'node:dns'
import { syncBuiltinESMExports } from 'node:module'
import { isIP } from 'node:net'
import { promisify } from 'node:util'
import { randomBytes } from 'node:crypto'
import { lstat, open, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { ScannerError, checkNumber, invalidOption } from '@scanner/core'
import type { DnsRecoveryAction } from './dns.js'
import { ORIGINAL_LOOKUP, normaliseServer } from './dns.js'

/** Options of {@link flushSystemdResolved}. */
export interface FlushSystemdResolvedOptions {
  /**
   * The command to run (a path or a name looked up in `PATH`); never run through a shell.
   * @default 'resolvectl'
   */
  readonly command?: string
  /**
   * Its arguments.
   * @default ['flush-caches']
   */
  readonly args?: readonly string[]
  /**
   * Time limit of the command, in milliseconds.
   * @default 10000
   */
  readonly timeoutMs?: number
}

/**
 * A recovery action that flushes the systemd-resolved cache (`resolvectl flush-caches`, run
 * with execa, no shell). Fails (and is logged) where systemd-resolved is absent.
 *
 * @example
 * ```ts
 * createDnsMonitor({ recovery: [flushSystemdResolved()] })
 * ```
 */
export function flushSystemdResolved(options: FlushSystemdResolvedOptions = {}): DnsRecoveryAction {
  const command = options.command ?? 'resolvectl'
  if (typeof command !== 'string' || command === '') {
    throw invalidOption('command', 'a non-empty string', command)
  }
  const args = options.args ?? ['flush-caches']
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    throw invalidOption('args', 'an array of strings', args)
  }
  const timeout = checkNumber('timeoutMs', options.timeoutMs, 10_000, { min: 1, max: 600_000 })
  return async function flushSystemdResolved({ signal }) {
    // execa is ESM-only: a dynamic import keeps the CommonJS build loadable.
    const { execa } = await import('execa')
    await execa(command, [...args], {
      shell: false,
      stdin: 'ignore',
      timeout,
      cancelSignal: signal,
    })
  }
}

/** Options of {@link useFallbackResolvers}. */
export interface UseFallbackResolversOptions {
  /**
   * Servers to switch to (`ip` or `ip:port`).
   * @default the monitor's fallbacks
   */
  readonly servers?: readonly string[]
  /**
   * Also replace `dns.lookup` and `dns.promises.lookup` (what `net`, `http`, `https`, `fetch` and
   * undici use by default), so that the process's own connections resolve through the servers
   * too. Names the servers cannot resolve still go to the original lookup (/etc/hosts, private
   * names). `false` only calls `dns.setServers`.
   * @default true
   */
  readonly lookup?: boolean
  /**
   * Time limit of one query of the replacement lookup to the servers, in milliseconds (two
   * attempts); after that the name goes to the original lookup.
   * @default 2000
   */
  readonly timeoutMs?: number
}

type Lookup = typeof dns.lookup
type PromisesLookup = typeof dns.promises.lookup
type Family = 0 | 4 | 6

/** The writable view of `node:dns`'s CommonJS module object, which `net` reads at connect time. */
const mutableDns = dns as unknown as { lookup: Lookup; promises: { lookup: PromisesLookup } }

/** What {@link restoreSystemResolvers} puts back: captured once, before the first switch. */
let saved: { servers: string[]; lookup: Lookup; promisesLookup: PromisesLookup } | undefined

interface LookupRequest {
  readonly name: string
  readonly family: Family
  readonly all: boolean
  readonly order: string
}

function familyOf(value: unknown): Family | undefined {
  if (value === undefined || value === null || value === 0) return 0
  if (value === 4 || value === 'IPv4') return 4
  if (value === 6 || value === 'IPv6') return 6
  return undefined
}

/**
 * The request when the replacement handles it: a host name (not an IP literal, not a
 * `localhost` name, which never goes to DNS) and options it understands. Anything else goes to
 * the original lookup untouched (which validates it).
 */
function parseRequest(hostname: unknown, options: unknown): LookupRequest | undefined {
  if (typeof hostname !== 'string' || hostname === '' || isIP(hostname) !== 0) return undefined
  if (/(?:^|\.)localhost\.?$/i.test(hostname)) return undefined
  let family: Family | undefined = 0
  let all = false
  let order: unknown
  if (typeof options === 'number') {
    family = familyOf(options)
  } else if (typeof options === 'object' && options !== null) {
    const o = options as { family?: unknown; all?: unknown; order?: unknown; verbatim?: unknown }
    family = familyOf(o.family)
    all = o.all === true
    order = o.order ?? (o.verbatim === false ? 'ipv4first' : undefined)
  } else if (options !== undefined) {
    return undefined
  }
  if (family === undefined) return undefined
  return {
    name: hostname,
    family,
    all,
    order: typeof order === 'string' ? order : dns.getDefaultResultOrder(),
  }
}

/** Addresses from the servers (IPv4 first unless the order is `ipv6first`), or undefined. */
async function resolveThrough(
  resolver: InstanceType<typeof dns.promises.Resolver>,
  request: LookupRequest,
): Promise<[LookupAddress, ...LookupAddress[]] | undefined> {
  const none = (): string[] => []
  const [v4, v6] = await Promise.all([
    request.family === 6 ? [] : resolver.resolve4(request.name).catch(none),
    request.family === 4 ? [] : resolver.resolve6(request.name).catch(none),
  ])
  const four = v4.map((address) => ({ address, family: 4 }))
  const six = v6.map((address) => ({ address, family: 6 }))
  const [first, ...rest] = request.order === 'ipv6first' ? [...six, ...four] : [...four, ...six]
  return first === undefined ? undefined : [first, ...rest]
}

function createLookups(
  servers: readonly string[],
  timeoutMs: number,
  original: { lookup: Lookup; promisesLookup: PromisesLookup },
): { lookup: Lookup; promisesLookup: PromisesLookup } {
  const resolver = new dns.promises.Resolver({ timeout: timeoutMs, tries: 2 })
  resolver.setServers([...servers])

  async function promisesLookup(...args: unknown[]): Promise<LookupAddress | LookupAddress[]> {
    const request = parseRequest(args[0], args[1])
    const found = request === undefined ? undefined : await resolveThrough(resolver, request)
    if (request === undefined || found === undefined) {
      return Reflect.apply(original.promisesLookup, dns.promises, args) as Promise<
        LookupAddress | LookupAddress[]
      >
    }
    return request.all ? found : found[0]
  }
  Object.defineProperty(promisesLookup, ORIGINAL_LOOKUP, { value: original.promisesLookup })

  function lookup(...args: unknown[]): void {
    const callback = typeof args[1] === 'function' ? args[1] : args[2]
    const request =
      typeof callback === 'function'
        ? parseRequest(args[0], typeof args[1] === 'function' ? undefined : args[1])
        : undefined
    if (request === undefined || typeof callback !== 'function') {
      Reflect.apply(original.lookup, dns, args)
      return
    }
    void resolveThrough(resolver, request).then((found) => {
      if (found === undefined) {
        try {
          Reflect.apply(original.lookup, dns, args)
        } catch (error) {
          process.nextTick(callback, error)
        }
      } else if (request.all) {
        process.nextTick(callback, null, found)
      } else {
        process.nextTick(callback, null, found[0].address, found[0].family)
      }
    })
  }
  // util.promisify(dns.lookup) resolves { address, family }, as it does for the original.
  Object.defineProperty(lookup, promisify.custom, { value: promisesLookup })
  return { lookup: lookup as Lookup, promisesLookup: promisesLookup as PromisesLookup }
}

/**
 * A recovery action that switches this process to the fallback resolvers: `dns.setServers`
 * (`dns.resolve*()`, new `dns.Resolver`s) and, unless `lookup: false`, `dns.lookup` and
 * `dns.promises.lookup`, which `net`, `http`, `https`, `fetch` and undici use by default (also
 * through `import { lookup } from 'node:dns'`). The replacement lookup hands IP literals and
 * `localhost` names straight to the original lookup, asks the servers for A and/or AAAA records
 * as `family` says (IPv4 first unless the result order is `ipv6first`; no cache; `all: true`
 * answers `[{ address, family }]`), and hands every name they cannot resolve (or any failure,
 * after `timeoutMs`) to the original lookup, so /etc/hosts and private names keep working. Its
 * `hints` option is not applied to what the servers answer. A DNS monitor keeps watching the
 * original lookup.
 *
 * Running it again switches to the new servers and keeps the originals saved by the first run.
 * Nothing is undone automatically: call {@link restoreSystemResolvers} (for example on the
 * monitor's `recovered` event) to go back.
 *
 * @example
 * ```ts
 * const dns = createDnsMonitor({ recovery: [useFallbackResolvers()] })
 * dns.on('recovered', () => restoreSystemResolvers())
 * ```
 */
export function useFallbackResolvers(options: UseFallbackResolversOptions = {}): DnsRecoveryAction {
  const servers =
    options.servers === undefined
      ? undefined
      : (() => {
          if (!Array.isArray(options.servers) || options.servers.length === 0) {
            throw invalidOption('servers', 'a non-empty array of servers', options.servers)
          }
          return options.servers.map((s, i) => normaliseServer(`servers[${i}]`, s))
        })()
  const switchLookup = options.lookup ?? true
  if (typeof switchLookup !== 'boolean') throw invalidOption('lookup', 'a boolean', switchLookup)
  const timeoutMs = checkNumber('timeoutMs', options.timeoutMs, 2000, { min: 1, max: 600_000 })
  return function useFallbackResolvers({ fallbacks, logger }) {
    const chosen = servers ?? [...fallbacks]
    saved ??= {
      servers: dns.getServers(),
      lookup: dns.lookup,
      promisesLookup: dns.promises.lookup,
    }
    dns.setServers(chosen)
    if (switchLookup) {
      const replacement = createLookups(chosen, timeoutMs, saved)
      mutableDns.lookup = replacement.lookup
      mutableDns.promises.lookup = replacement.promisesLookup
    }
    // Refresh the ES module bindings (`import { lookup } from 'node:dns'`) from the CommonJS
    // module object; setServers also rebinds node:dns's resolve* functions.
    syncBuiltinESMExports()
    logger.warn(
      { servers: chosen, lookup: switchLookup },
      'DNS: this process now resolves through the fallback resolvers',
    )
  }
}

/**
 * Undoes {@link useFallbackResolvers}: puts back the `dns.lookup`, `dns.promises.lookup` and
 * `dns.getServers()` it found before its first run. Idempotent; does nothing if it never ran.
 * The monitor does not call it: do so on its `recovered` event if the process should go back
 * to the system resolver once that works again.
 *
 * @example
 * ```ts
 * dns.on('recovered', () => restoreSystemResolvers())
 * ```
 */
export function restoreSystemResolvers(): void {
  if (saved === undefined) return
  const { servers, lookup, promisesLookup } = saved
  saved = undefined
  dns.setServers(servers)
  mutableDns.lookup = lookup
  mutableDns.promises.lookup = promisesLookup
  syncBuiltinESMExports()
}

/** Options of {@link writeResolvConf}. */
export interface WriteResolvConfOptions {
  /** The file to replace, for example `'/etc/resolv.conf'`. Required: nothing is written by default. */
  readonly path: string
  /**
   * Name servers to write (IP addresses on port 53; resolv.conf holds at most 3).
   * @default the monitor's fallbacks that use port 53
   */
  readonly servers?: readonly string[]
  /**
   * Where the previous file is copied before it is replaced.
   * @default `${path}.bak`
   */
  readonly backupPath?: string
}

const MARKER = '# Written by @scanner/health DNS recovery'

function hostsOnPort53(servers: readonly string[]): string[] {
  const hosts: string[] = []
  for (const server of servers) {
    const match = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(server)
    if (match !== null && match[3] === '53') hosts.push(match[1] ?? match[2] ?? '')
  }
  return hosts.slice(0, 3)
}

function nameservers(content: string): string[] {
  return content
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((s): s is string => s !== undefined)
}

/**
 * A recovery action that rewrites a resolv.conf with the fallback name servers, only when you
 * add it: atomically (temporary file in the same directory, fsync, rename), after copying the
 * previous file to `backupPath`, keeping its `search`/`options` lines. It does nothing when the
 * file already lists exactly these servers, and refuses to replace a symbolic link (such as
 * systemd-resolved's stub).
 *
 * @example
 * ```ts
 * createDnsMonitor({ recovery: [flushSystemdResolved(), writeResolvConf({ path: '/etc/resolv.conf' })] })
 * ```
 */
export function writeResolvConf(options: WriteResolvConfOptions): DnsRecoveryAction {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object with a path', options)
  }
  const path = options.path
  if (typeof path !== 'string' || path === '') throw invalidOption('path', 'a file path', path)
  const backupPath = options.backupPath ?? `${path}.bak`
  if (typeof backupPath !== 'string' || backupPath === '' || backupPath === path) {
    throw invalidOption('backupPath', 'a file path other than path', backupPath)
  }
  let configured: string[] | undefined
  if (options.servers !== undefined) {
    if (!Array.isArray(options.servers) || options.servers.length === 0) {
      throw invalidOption('servers', 'a non-empty array of IP addresses', options.servers)
    }
    configured = options.servers.map((s, i) => normaliseServer(`servers[${i}]`, s))
    if (hostsOnPort53(configured).length !== configured.length) {
      throw invalidOption(
        'servers',
        'IP addresses on port 53 (resolv.conf has no ports)',
        options.servers,
      )
    }
  }
  return async function writeResolvConf({ fallbacks, logger }) {
    const hosts = hostsOnPort53(configured ?? fallbacks)
    if (hosts.length === 0) {
      throw new ScannerError(
        'ERR_HEALTH_RESOLV_CONF_NO_SERVERS',
        'no fallback resolver on port 53 to write into resolv.conf',
      )
    }
    const stats = await lstat(path).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    })
    if (stats?.isSymbolicLink() === true) {
      throw new ScannerError(
        'ERR_HEALTH_RESOLV_CONF_SYMLINK',
        `${path} is a symbolic link (managed by systemd-resolved or similar); not replacing it`,
      )
    }
    const previous = stats === undefined ? '' : await readFile(path, 'utf8')
    const current = nameservers(previous)
    if (current.length === hosts.length && current.every((h, i) => h === hosts[i])) return
    const mode = stats === undefined ? 0o644 : stats.mode & 0o777
    if (stats !== undefined) await writeFile(backupPath, previous, { mode })
    const kept = previous
      .split('\n')
      .filter((line) => !/^\s*nameserver\s/.test(line) && !line.startsWith(MARKER))
      .join('\n')
      .trim()
    const content =
      `${MARKER} at ${new Date().toISOString()}` +
      (stats === undefined ? '\n' : `; previous file: ${backupPath}\n`) +
      (kept === '' ? '' : `${kept}\n`) +
      hosts.map((h) => `nameserver ${h}\n`).join('')
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      const handle = await open(temporary, 'wx', mode)
      try {
        await handle.writeFile(content)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temporary, path)
    } catch (error) {
      await rm(temporary, { force: true })
      throw error
    }
    logger.warn({ path, servers: hosts, backup: backupPath }, 'DNS: rewrote resolv.conf')
  }
}
