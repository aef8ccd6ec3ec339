import type { Disposer, Logger } from '@scanner/core'
import type { StatusHistory } from './history.js'

/*
 * Adapters from the packages' public APIs to a StatusHistory. @scanner/health must not import
 * @scanner/tunnel or @scanner/circuit-breaker, so each source is described by the structural
 * part of it that is used here: a `Tunnel`, a `BreakerRegistry` and a `DnsMonitor` fit as they are.
 */

/** A restart as a tunnel supervisor reports it (`TunnelRestartEvent` of `@scanner/tunnel`). */
export interface StatusRestartLike {
  readonly reason: string
  readonly delayMs?: number
  readonly exitCode?: number | null
  /** `make-before-break` or `break-before-make`. */
  readonly strategy?: string
  readonly handoverMs?: number
}

/** The part of a `Tunnel` (`@scanner/tunnel`) that {@link recordTunnel} subscribes to. */
export interface StatusTunnelSource {
  onStateChange(
    listener: (event: { readonly state: string; readonly previous: string }) => void,
  ): () => void
  onRestart(listener: (event: StatusRestartLike) => void): () => void
  on(
    event: 'quic-timeout',
    listener: (event: {
      readonly connIndex: number | undefined
      readonly incidents: number
    }) => void,
  ): () => void
  on(
    event: 'failed',
    listener: (event: { readonly reason: string; readonly message: string }) => void,
  ): () => void
}

/**
 * Records a tunnel's state changes, restarts (reason, strategy, delay, handover time), QUIC
 * incidents and its giving up (as an error) in `history`. Returns a disposer.
 *
 * @example
 * ```ts
 * const tunnel = createTunnel({ ... })
 * const stop = recordTunnel(history, tunnel)
 * ```
 */
export function recordTunnel(history: StatusHistory, tunnel: StatusTunnelSource): Disposer {
  const disposers = [
    tunnel.onStateChange((event) => {
      history.add({ kind: 'state', state: event.state, previous: event.previous })
    }),
    tunnel.onRestart((event) => {
      history.add({
        kind: 'restart',
        reason: event.reason,
        ...(event.strategy === undefined ? {} : { strategy: event.strategy }),
        ...(event.delayMs === undefined ? {} : { delayMs: event.delayMs }),
        ...(event.exitCode === undefined || event.exitCode === null
          ? {}
          : { exitCode: event.exitCode }),
        ...(event.handoverMs === undefined ? {} : { handoverMs: event.handoverMs }),
      })
    }),
    tunnel.on('quic-timeout', (event) => {
      history.add({
        kind: 'quic',
        ...(event.connIndex === undefined ? {} : { connIndex: event.connIndex }),
        incidents: event.incidents,
      })
    }),
    tunnel.on('failed', (event) => {
      history.add({
        kind: 'error',
        source: 'tunnel',
        message: `gave up (${event.reason}): ${event.message}`,
      })
    }),
  ]
  return () => {
    for (const dispose of disposers.splice(0)) dispose()
  }
}

/** A breaker state change (`BreakerEvent` of `@scanner/circuit-breaker`). */
export interface StatusBreakerEventLike {
  readonly key: string
  readonly state: string
  readonly previous: string
  readonly at?: number
}

/** The part of a `BreakerRegistry` (`@scanner/circuit-breaker`) that {@link recordBreakers} uses. */
export interface StatusBreakerSource {
  on(
    event: 'open' | 'half-open' | 'close',
    listener: (event: StatusBreakerEventLike) => void,
  ): () => void
}

/**
 * Records every route breaker's transitions (open, half-open, close) in `history`. Returns a
 * disposer.
 *
 * @example
 * ```ts
 * recordBreakers(history, createBreakerRegistry({ ... }))
 * ```
 */
export function recordBreakers(history: StatusHistory, registry: StatusBreakerSource): Disposer {
  const record = (event: StatusBreakerEventLike): void => {
    history.add({
      kind: 'breaker',
      key: event.key,
      state: event.state,
      previous: event.previous,
      ...(event.at === undefined ? {} : { at: event.at }),
    })
  }
  const disposers = [
    registry.on('open', record),
    registry.on('half-open', record),
    registry.on('close', record),
  ]
  return () => {
    for (const dispose of disposers.splice(0)) dispose()
  }
}

/** One resolver result of a DNS report (`DnsResolverResult`). */
interface DnsResultLike {
  readonly resolver: string
  readonly name: string
  readonly ok: boolean
  readonly error?: string
}

/** The part of a `DnsMonitor` that {@link recordDns} uses. */
export interface StatusDnsSource {
  on(
    event: 'failure' | 'network-down' | 'recovered',
    listener: (report: {
      readonly system: readonly DnsResultLike[]
      readonly fallbacks: readonly DnsResultLike[]
    }) => void,
  ): () => void
}

function dnsDetail(report: { readonly system: readonly DnsResultLike[] }): string | undefined {
  const failed = report.system.find((result) => !result.ok)
  if (failed === undefined) return undefined
  return `${failed.name} via ${failed.resolver}: ${failed.error ?? 'failed'}`
}

/**
 * Records DNS episodes in `history`: `failure` (the system resolver fails, a fallback works),
 * `network-down` (every resolver fails) and `recovered`. Returns a disposer.
 *
 * @example
 * ```ts
 * recordDns(history, createDnsMonitor({ ... }))
 * ```
 */
export function recordDns(history: StatusHistory, monitor: StatusDnsSource): Disposer {
  const disposers = (['failure', 'network-down', 'recovered'] as const).map((status) =>
    monitor.on(status, (report) => {
      const detail = status === 'recovered' ? undefined : dnsDetail(report)
      history.add({ kind: 'dns', status, ...(detail === undefined ? {} : { detail }) })
    }),
  )
  return () => {
    for (const dispose of disposers.splice(0)) dispose()
  }
}

/** Fields of a log record that {@link recordErrors} reads. */
interface ErrorRecord {
  readonly errorId?: unknown
  readonly err?: unknown
  readonly status?: unknown
  readonly route?: unknown
}

function errorText(record: ErrorRecord, message: unknown): string {
  const err = record.err
  const detail =
    err instanceof Error
      ? err.message
      : typeof err === 'string'
        ? err
        : typeof message === 'string'
          ? message
          : 'error'
  return typeof record.route === 'string' ? `${record.route}: ${detail}` : detail
}

/**
 * Wraps a logger so that every `warn`/`error`/`fatal` record carrying an `errorId` (what the
 * circuit-breaker adapters log for an unhandled error) is also recorded in `history` as an
 * error event (ID, route and message; never the stack). Children of the returned logger record
 * too. Everything is still passed on to `logger` unchanged.
 *
 * @example
 * ```ts
 * const logged = recordErrors(history, logger)
 * createExpressBreaker(breakers, { logger: logged })
 * ```
 */
export function recordErrors(history: StatusHistory, logger: Logger, source = 'api'): Logger {
  const wrap = (target: Logger): Logger => {
    const tee =
      (level: 'warn' | 'error' | 'fatal') =>
      (...args: unknown[]): void => {
        const first = args[0]
        if (typeof first === 'object' && first !== null && 'errorId' in first) {
          const record = first as ErrorRecord
          if (typeof record.errorId === 'string') {
            history.add({
              kind: 'error',
              errorId: record.errorId,
              message: errorText(record, args[1]),
              source,
              ...(typeof record.status === 'number' ? { status: record.status } : {}),
            })
          }
        }
        const fn = target[level] ?? target.error
        ;(fn as (...a: unknown[]) => void).apply(target, args)
      }
    const wrapped: Logger = {
      debug: (...args: unknown[]) => {
        ;(target.debug as (...a: unknown[]) => void).apply(target, args)
      },
      info: (...args: unknown[]) => {
        ;(target.info as (...a: unknown[]) => void).apply(target, args)
      },
      warn: tee('warn'),
      error: tee('error'),
      fatal: tee('fatal'),
      child: (bindings) => wrap(target.child(bindings)),
    }
    if (target.trace !== undefined) {
      const trace = target.trace
      wrapped.trace = (...args: unknown[]) => {
        ;(trace as (...a: unknown[]) => void).apply(target, args)
      }
    }
    return wrapped
  }
  return wrap(logger)
}
