import { setServers } from 'node:dns'
import { syncBuiltinESMExports } from 'node:module'
import { randomBytes } from 'node:crypto'
import { lstat, open, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { ScannerError, checkNumber, invalidOption } from '@scanner/core'
import type { DnsRecoveryAction } from './dns.js'
import { normaliseServer } from './dns.js'

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
}

/**
 * A recovery action that switches this process's `node:dns` resolver to the fallback
 * resolvers (`dns.setServers`). It affects `dns.resolve*()` and `new dns.Resolver()`, not
 * `dns.lookup()` (getaddrinfo, used by `http`, `net` and `fetch` by default): pass a lookup
 * built on `dns.resolve4` to your agents if they must follow.
 *
 * @example
 * ```ts
 * createDnsMonitor({ recovery: [useFallbackResolvers()] })
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
  return function useFallbackResolvers({ fallbacks, logger }) {
    const chosen = servers ?? [...fallbacks]
    setServers(chosen)
    // setServers rebinds node:dns's exports to a new default resolver; refresh ES module imports.
    syncBuiltinESMExports()
    logger.warn(
      { servers: chosen },
      'DNS: this process now resolves through the fallback resolvers',
    )
  }
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
