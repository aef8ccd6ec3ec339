import { promises as dnsPromises } from 'node:dns'
import { isIP } from 'node:net'
import {
  Emitter,
  ScannerError,
  checkNumber,
  checkOneOf,
  invalidOption,
  isScannerError,
  noopLogger,
  type Disposer,
  type HealthCheck,
  type HealthCheckDetails,
  type Logger,
} from '@scanner/core'
import type { Registry } from 'prom-client'
import { createDnsMetrics, type DnsMetrics } from './internal/metrics.js'
import { errorMessage } from './internal/runner.js'
import { round1 } from './internal/system.js'

/** State of a {@link DnsMonitor}. */
export type DnsState = 'unknown' | 'ok' | 'dns-failure' | 'network-down'

/** The result of resolving one name through one resolver. */
export interface DnsResolverResult {
  /** `'system'` or the fallback as `host:port`. */
  readonly resolver: string
  readonly name: string
  readonly ok: boolean
  readonly latency_ms: number
  readonly addresses?: string[]
  readonly error?: string
}

/** One round of a {@link DnsMonitor}. */
export interface DnsReport {
  /** When the round ended, ISO 8601. */
  readonly time: string
  /**
   * Decided name by name. `ok`: the system resolver resolves every name. `dns-failure`: at
   * least one name it fails on resolves through a fallback (with no fallbacks configured, any
   * system failure counts as `dns-failure`). `network-down`: every name it fails on fails
   * through every fallback too (the network, or the names themselves); names it resolves do
   * not make this a DNS failure.
   */
  readonly status: 'ok' | 'dns-failure' | 'network-down'
  readonly system: DnsResolverResult[]
  readonly fallbacks: DnsResolverResult[]
}

/** What a recovery action receives. */
export interface DnsRecoveryContext {
  /** The report that started the failure episode. */
  readonly report: DnsReport
  /** The fallback resolvers, as `host:port`. */
  readonly fallbacks: readonly string[]
  /** Aborted when the monitor closes. */
  readonly signal: AbortSignal
  readonly logger: Logger
}

/**
 * A recovery action, run once per DNS failure episode (a name the system resolver fails on
 * resolves through a fallback). Never run on `network-down` (the failing names fail through
 * every fallback too).
 */
export type DnsRecoveryAction = (context: DnsRecoveryContext) => unknown

/** Events of a {@link DnsMonitor}; every listener receives the round's report. */
export type DnsEventName = 'failure' | 'network-down' | 'recovered' | 'report'

/** Options of {@link createDnsMonitor}. Every field is optional. */
export interface DnsMonitorOptions {
  /**
   * Names to resolve.
   * @default ['region1.v2.argotunnel.com', 'region2.v2.argotunnel.com'] (cloudflared's edge)
   */
  readonly names?: readonly string[]
  /**
   * Fallback resolvers, as IP addresses with an optional port (`'1.1.1.1'`, `'127.0.0.1:5353'`, `'[::1]:53'`).
   * @default ['1.1.1.1', '8.8.8.8']
   */
  readonly fallbacks?: readonly string[]
  /**
   * Query these servers as "the system resolver" instead of the operating system's own
   * lookup (`dns.lookup`, which follows /etc/hosts, nsswitch and /etc/resolv.conf; the original
   * one, even after `useFallbackResolvers()` switched the process). For tests, or to watch a
   * local stub such as `127.0.0.53` directly.
   * @default undefined (the operating system's resolver)
   */
  readonly systemServers?: readonly string[]
  /**
   * Time between rounds once {@link DnsMonitor.start} is called, in milliseconds.
   * @default 60000
   */
  readonly intervalMs?: number
  /**
   * Time limit of one query, in milliseconds.
   * @default 2000
   */
  readonly timeoutMs?: number
  /**
   * Record type to resolve.
   * @default 'A'
   */
  readonly rrtype?: 'A' | 'AAAA'
  /**
   * Recovery actions run once per failure episode, in order: your own functions and/or
   * `flushSystemdResolved()`, `useFallbackResolvers()`, `writeResolvConf({ path })`.
   * @default [] (no recovery)
   */
  readonly recovery?: readonly DnsRecoveryAction[]
  /**
   * Logger (pino-compatible).
   * @default noopLogger
   */
  readonly logger?: Logger
  /**
   * A prom-client registry for `scanner_dns_state`, `scanner_dns_queries_total` and
   * `scanner_dns_query_duration_seconds`.
   * @default undefined (no metrics)
   */
  readonly metrics?: Registry
  /**
   * Closes the monitor when aborted.
   * @default undefined
   */
  readonly signal?: AbortSignal
}

/** A DNS health monitor; see {@link createDnsMonitor}. */
export interface DnsMonitor {
  readonly state: DnsState
  readonly lastReport: DnsReport | undefined
  /**
   * Runs one round now (joining a round in progress), updates `state` and emits events:
   * `failure` / `network-down` / `recovered` on a change of state (before recovery actions run),
   * then `report` once the round is complete.
   */
  checkNow(signal?: AbortSignal): Promise<DnsReport>
  /** Runs a round now and then every `intervalMs` (timer unref'd). Idempotent. */
  start(): void
  /** Stops the interval and cancels queries in progress. Idempotent. */
  close(): Promise<void>
  /** Subscribes to an event; returns a disposer. */
  on(event: DnsEventName, listener: (report: DnsReport) => void): Disposer
}

const DNS_DEFAULTS = {
  names: ['region1.v2.argotunnel.com', 'region2.v2.argotunnel.com'],
  fallbacks: ['1.1.1.1', '8.8.8.8'],
  intervalMs: 60_000,
  timeoutMs: 2000,
  rrtype: 'A',
} as const

/**
 * `useFallbackResolvers()` keeps the original `dns.promises.lookup` under this key on its
 * replacement, so the monitor's system path keeps watching the operating system's resolver
 * while the process is switched to the fallbacks. Internal; a global symbol so that two copies
 * of the package (ESM and CommonJS) agree.
 */
export const ORIGINAL_LOOKUP: unique symbol = Symbol.for('@scanner/health.original-lookup')

type PromisesLookup = typeof dnsPromises.lookup

/** The operating system's lookup (getaddrinfo), even while `useFallbackResolvers()` is active. */
function osLookup(): PromisesLookup {
  const current = dnsPromises.lookup as PromisesLookup & { [ORIGINAL_LOOKUP]?: PromisesLookup }
  return current[ORIGINAL_LOOKUP] ?? current
}

/** Parses `ip`, `ip:port`, `[ipv6]:port` into the `host:port` form `setServers` accepts. */
export function normaliseServer(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw invalidOption(option, 'an IP address with an optional port', value)
  }
  let host = value
  let port = '53'
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value)
  if (bracketed) {
    host = bracketed[1] ?? ''
    port = bracketed[2] ?? '53'
  } else if (isIP(value) === 0) {
    const i = value.lastIndexOf(':')
    if (i > 0) {
      host = value.slice(0, i)
      port = value.slice(i + 1)
    }
  }
  const p = Number(port)
  if (isIP(host) === 0 || !/^\d+$/.test(port) || p < 1 || p > 65535) {
    throw invalidOption(option, 'an IP address with an optional port (1-65535)', value)
  }
  return isIP(host) === 6 ? `[${host}]:${p}` : `${host}:${p}`
}

function checkList(option: string, value: unknown, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback]
  if (!Array.isArray(value)) throw invalidOption(option, 'an array of strings', value)
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string' || item === '') {
      throw invalidOption(`${option}[${i}]`, 'a non-empty string', item)
    }
    return item
  })
}

function checkLogger(value: unknown): Logger {
  if (value === undefined) return noopLogger
  const l = value as Partial<Logger> | null | undefined
  if (typeof l !== 'object' || l === null || typeof l.warn !== 'function') {
    throw invalidOption('logger', 'a pino-compatible logger', value)
  }
  return typeof l.child === 'function' ? l.child({ module: 'dns' }) : (l as Logger)
}

function summary(results: readonly DnsResolverResult[]): string {
  return results
    .filter((r) => !r.ok)
    .map((r) => `${r.name} via ${r.resolver}: ${r.error ?? 'no address'}`)
    .join('; ')
}

/**
 * The decision of a round, name by name: `ok` when the system resolver resolves every name;
 * `dns-failure` when a name it fails on resolves through a fallback (or when there is no
 * fallback to tell); otherwise `network-down`.
 */
function classify(
  system: readonly DnsResolverResult[],
  fallbacks: readonly DnsResolverResult[],
  haveFallbacks: boolean,
): DnsReport['status'] {
  const failing = new Set(system.filter((r) => !r.ok).map((r) => r.name))
  if (failing.size === 0) return 'ok'
  if (!haveFallbacks) return 'dns-failure'
  return fallbacks.some((r) => r.ok && failing.has(r.name)) ? 'dns-failure' : 'network-down'
}

interface Resolve {
  (name: string): Promise<string[]>
  cancel?: () => void
}

class DnsMonitorImpl implements DnsMonitor {
  readonly #names: readonly string[]
  readonly #fallbacks: readonly string[]
  readonly #systemServers: readonly string[] | undefined
  readonly #intervalMs: number
  readonly #timeoutMs: number
  readonly #rrtype: 'A' | 'AAAA'
  readonly #recovery: readonly DnsRecoveryAction[]
  readonly #logger: Logger
  readonly #metrics: DnsMetrics | undefined
  readonly #events: Emitter<Record<DnsEventName, DnsReport>>
  readonly #controller = new AbortController()
  #state: DnsState = 'unknown'
  #lastReport: DnsReport | undefined
  #inflight: Promise<DnsReport> | undefined
  #timer: NodeJS.Timeout | undefined
  #recoveredThisEpisode = false
  #closing: Promise<void> | undefined

  constructor(options: DnsMonitorOptions) {
    if (typeof options !== 'object' || options === null) {
      throw invalidOption('options', 'an object', options)
    }
    this.#names = checkList('names', options.names, DNS_DEFAULTS.names)
    if (this.#names.length === 0) throw invalidOption('names', 'at least one name', options.names)
    this.#fallbacks = checkList('fallbacks', options.fallbacks, DNS_DEFAULTS.fallbacks).map(
      (s, i) => normaliseServer(`fallbacks[${i}]`, s),
    )
    if (options.systemServers !== undefined) {
      const servers = checkList('systemServers', options.systemServers, [])
      if (servers.length === 0) {
        throw invalidOption('systemServers', 'at least one server', options.systemServers)
      }
      this.#systemServers = servers.map((s, i) => normaliseServer(`systemServers[${i}]`, s))
    }
    this.#intervalMs = checkNumber('intervalMs', options.intervalMs, DNS_DEFAULTS.intervalMs, {
      min: 10,
      max: 86_400_000,
    })
    this.#timeoutMs = checkNumber('timeoutMs', options.timeoutMs, DNS_DEFAULTS.timeoutMs, {
      min: 1,
      max: 600_000,
    })
    this.#rrtype = checkOneOf('rrtype', options.rrtype, ['A', 'AAAA'], DNS_DEFAULTS.rrtype)
    const recovery: unknown = options.recovery ?? []
    if (!Array.isArray(recovery) || !recovery.every((a) => typeof a === 'function')) {
      throw invalidOption('recovery', 'an array of functions', recovery)
    }
    this.#recovery = recovery as DnsRecoveryAction[]
    this.#logger = checkLogger(options.logger)
    this.#metrics = createDnsMetrics(options.metrics)
    this.#events = new Emitter((error) => {
      this.#logger.error({ err: error }, 'DNS monitor listener threw')
    })
    const signal = options.signal
    if (signal !== undefined) {
      if (signal.aborted) void this.close()
      else signal.addEventListener('abort', () => void this.close(), { once: true })
    }
  }

  get state(): DnsState {
    return this.#state
  }

  get lastReport(): DnsReport | undefined {
    return this.#lastReport
  }

  on(event: DnsEventName, listener: (report: DnsReport) => void): Disposer {
    checkOneOf('event', event, ['failure', 'network-down', 'recovered', 'report'], 'report')
    return this.#events.on(event, listener)
  }

  start(): void {
    if (this.#timer !== undefined || this.#closing !== undefined) return
    this.#timer = setInterval(() => {
      this.#tick()
    }, this.#intervalMs)
    this.#timer.unref()
    this.#tick()
  }

  #tick(): void {
    if (this.#inflight !== undefined) return
    this.checkNow().catch((error: unknown) => {
      if (!isScannerError(error, 'ERR_HEALTH_DNS_CLOSED')) {
        this.#logger.error({ err: error }, 'DNS monitor round failed')
      }
    })
  }

  checkNow(signal?: AbortSignal): Promise<DnsReport> {
    if (this.#closing !== undefined) {
      return Promise.reject(new ScannerError('ERR_HEALTH_DNS_CLOSED', 'the DNS monitor is closed'))
    }
    const round = (this.#inflight ??= this.#round()
      .finally(() => {
        this.#inflight = undefined
      })
      .then((report) => {
        // Last, so a listener sees the round complete (state updated, recovery done).
        if (this.#closing === undefined) this.#events.emit('report', report)
        return report
      }))
    if (signal === undefined) return round
    if (signal.aborted) return Promise.reject(signal.reason as Error)
    return new Promise<DnsReport>((resolve, reject) => {
      const onAbort = (): void => {
        reject(signal.reason as Error)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      round.then(resolve, reject).finally(() => {
        signal.removeEventListener('abort', onAbort)
      })
    })
  }

  async #round(): Promise<DnsReport> {
    const signal = this.#controller.signal
    const systemResolve = this.#systemResolver(signal)
    const [system, fallbacks] = await Promise.all([
      Promise.all(this.#names.map((name) => this.#query('system', name, systemResolve, signal))),
      Promise.all(
        this.#fallbacks.flatMap((server) =>
          this.#names.map((name) =>
            this.#query(server, name, this.#serverResolver([server], signal), signal),
          ),
        ),
      ),
    ])
    const status = classify(system, fallbacks, this.#fallbacks.length > 0)
    const report: DnsReport = { time: new Date().toISOString(), status, system, fallbacks }
    if (this.#closing !== undefined) return report
    await this.#apply(report)
    return report
  }

  async #apply(report: DnsReport): Promise<void> {
    const previous = this.#state
    this.#state = report.status
    this.#lastReport = report
    if (this.#metrics !== undefined) {
      for (const s of ['unknown', 'ok', 'dns-failure', 'network-down']) {
        this.#metrics.state.set({ state: s }, s === report.status ? 1 : 0)
      }
    }
    if (report.status === 'ok') {
      this.#recoveredThisEpisode = false
      if (previous === 'dns-failure' || previous === 'network-down') {
        this.#logger.info({ previous }, 'DNS resolution recovered')
        this.#events.emit('recovered', report)
      }
      return
    }
    if (report.status === 'network-down') {
      if (previous !== 'network-down') {
        this.#logger.error(
          { failures: summary(report.system) },
          'DNS: no resolver resolves the failing names (network down?); no recovery attempted',
        )
        this.#events.emit('network-down', report)
      }
      return
    }
    if (previous !== 'dns-failure') {
      this.#logger.warn(
        { failures: summary(report.system) },
        'DNS failure: the system resolver fails on names that fallback resolvers resolve',
      )
      this.#events.emit('failure', report)
    }
    if (!this.#recoveredThisEpisode && this.#recovery.length > 0) {
      this.#recoveredThisEpisode = true
      await this.#runRecovery(report)
    }
  }

  async #runRecovery(report: DnsReport): Promise<void> {
    const context: DnsRecoveryContext = {
      report,
      fallbacks: this.#fallbacks,
      signal: this.#controller.signal,
      logger: this.#logger,
    }
    for (const action of this.#recovery) {
      if (this.#controller.signal.aborted) return
      const name = action.name === '' ? 'anonymous' : action.name
      try {
        await action(context)
        this.#logger.info({ action: name }, 'DNS recovery action ran')
      } catch (error) {
        this.#logger.error({ err: error, action: name }, 'DNS recovery action failed')
      }
    }
  }

  #systemResolver(signal: AbortSignal): () => Resolve {
    if (this.#systemServers !== undefined) return this.#serverResolver(this.#systemServers, signal)
    const family = this.#rrtype === 'AAAA' ? 6 : 4
    return () => async (name) => {
      const found = await osLookup()(name, { all: true, family })
      return found.map((a) => a.address)
    }
  }

  /** A fresh resolver per query (no cache between rounds, cancellable on its own). */
  #serverResolver(servers: readonly string[], signal: AbortSignal): () => Resolve {
    return () => {
      const resolver = new dnsPromises.Resolver({ timeout: this.#timeoutMs, tries: 1 })
      resolver.setServers([...servers])
      const onAbort = (): void => {
        resolver.cancel()
      }
      const resolve: Resolve = async (name) => {
        signal.addEventListener('abort', onAbort, { once: true })
        try {
          return this.#rrtype === 'AAAA'
            ? await resolver.resolve6(name)
            : await resolver.resolve4(name)
        } finally {
          signal.removeEventListener('abort', onAbort)
          resolver.cancel()
        }
      }
      resolve.cancel = onAbort
      return resolve
    }
  }

  async #query(
    resolver: string,
    name: string,
    make: () => Resolve,
    signal: AbortSignal,
  ): Promise<DnsResolverResult> {
    const kind = resolver === 'system' ? 'system' : 'fallback'
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    let result: DnsResolverResult
    const resolve = make()
    try {
      const addresses = await Promise.race([
        resolve(name),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            resolve.cancel?.()
            reject(new Error(`timed out after ${this.#timeoutMs} ms`))
          }, this.#timeoutMs)
          timer.unref()
        }),
      ])
      result =
        addresses.length > 0
          ? { resolver, name, ok: true, latency_ms: round1(performance.now() - started), addresses }
          : {
              resolver,
              name,
              ok: false,
              latency_ms: round1(performance.now() - started),
              error: 'no address',
            }
    } catch (error) {
      result = {
        resolver,
        name,
        ok: false,
        latency_ms: round1(performance.now() - started),
        error: signal.aborted ? 'cancelled: monitor closed' : errorMessage(error),
      }
    } finally {
      clearTimeout(timer)
    }
    this.#metrics?.queries.inc({ kind, result: result.ok ? 'ok' : 'error' })
    this.#metrics?.latency.observe({ kind }, result.latency_ms / 1000)
    return result
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer)
      this.#controller.abort(new ScannerError('ERR_HEALTH_DNS_CLOSED', 'the DNS monitor is closed'))
      await this.#inflight?.catch(() => undefined)
      this.#events.clear()
    })()
    return this.#closing
  }
}

/**
 * Creates a DNS monitor: each round resolves the names through the system resolver and through
 * each fallback resolver and decides name by name. "A name the system resolver fails on
 * resolves through a fallback" is `dns-failure` (event `failure`, recovery actions run once per
 * episode); "the names it fails on fail everywhere" is `network-down` (reported, no recovery).
 * It emits `recovered` when the system resolver resolves every name again.
 *
 * @example
 * ```ts
 * const dns = createDnsMonitor({ recovery: [flushSystemdResolved()], logger })
 * dns.on('failure', (report) => alert(report))
 * dns.start()
 * createHealth({ checks: [dnsCheck(dns)] })
 * // on shutdown: await dns.close()
 * ```
 */
export function createDnsMonitor(options: DnsMonitorOptions = {}): DnsMonitor {
  return new DnsMonitorImpl(options)
}

/** Options of {@link dnsCheck}. */
export interface DnsCheckOptions {
  /**
   * Component name.
   * @default 'dns'
   */
  readonly name?: string
  /**
   * Whether `network-down` (the failing names fail through every resolver) makes the service
   * unhealthy (otherwise it degrades it).
   * @default false
   */
  readonly critical?: boolean
  /**
   * A report older than this triggers a new round (useful when the monitor was not started).
   * @default 120000
   */
  readonly maxAgeMs?: number
  /**
   * Time limit of the check when it must wait for a round, in milliseconds.
   * @default 500 (the health instance's `timeoutMs`)
   */
  readonly timeoutMs?: number
}

/**
 * Exposes a {@link DnsMonitor} as a health check: healthy on `ok`, degraded on `dns-failure`
 * (the system resolver fails on names a fallback resolves), unhealthy on `network-down` (the
 * names it fails on fail through every resolver). It reads the monitor's last report and runs
 * a round only when there is none or it is older than `maxAgeMs`.
 *
 * @example
 * ```ts
 * const dns = createDnsMonitor()
 * dns.start()
 * createHealth({ checks: [dnsCheck(dns)] })
 * // component: { status: 'degraded', state: 'dns-failure', error: 'system resolver failing ...', ... }
 * ```
 */
export function dnsCheck(monitor: DnsMonitor, options: DnsCheckOptions = {}): HealthCheck {
  if (typeof monitor !== 'object' || monitor === null || typeof monitor.checkNow !== 'function') {
    throw invalidOption('monitor', 'a DnsMonitor', monitor)
  }
  const name = options.name ?? 'dns'
  if (typeof name !== 'string' || name === '')
    throw invalidOption('name', 'a non-empty string', name)
  const critical = options.critical ?? false
  if (typeof critical !== 'boolean') throw invalidOption('critical', 'a boolean', critical)
  const maxAgeMs = checkNumber('maxAgeMs', options.maxAgeMs, 120_000, { min: 0 })
  const timeoutMs =
    options.timeoutMs === undefined
      ? undefined
      : checkNumber('timeoutMs', options.timeoutMs, 0, { min: 1, max: 600_000 })
  return {
    name,
    critical,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    async run(signal): Promise<HealthCheckDetails> {
      let report = monitor.lastReport
      if (report === undefined || Date.now() - Date.parse(report.time) > maxAgeMs) {
        report = await monitor.checkNow(signal)
      }
      const latencies = report.system.map((r) => r.latency_ms)
      const details = {
        state: report.status,
        checked_at: report.time,
        latency_ms: latencies.length > 0 ? Math.max(...latencies) : 0,
        system: report.system,
        fallbacks: report.fallbacks,
      }
      if (report.status === 'ok') return { status: 'healthy', ...details }
      if (report.status === 'dns-failure') {
        return {
          status: 'degraded',
          ...details,
          error: `system resolver failing (${summary(report.system)}); fallback resolvers work`,
        }
      }
      return {
        status: 'unhealthy',
        ...details,
        error: `no resolver can resolve (${summary(report.system)})`,
      }
    },
  }
}
