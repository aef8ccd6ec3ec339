/**
 * The examples' status page: one event history fed by the breakers, the DNS monitor, the
 * tunnel and the error log, and the page of `@scanner/health` served on the operator port
 * (`/status`, `/status/events`, `/status/history.json`).
 */
import type { Disposer, Logger } from '@scanner/core'
import {
  createStatusHistory,
  createStatusPage,
  recordBreakers,
  recordDns,
  recordTunnel,
  statusSnapshot,
  type StatusBreakerSource,
  type StatusDnsSource,
  type StatusHistory,
  type StatusRouteHandler,
  type StatusSnapshotSources,
  type StatusTunnelSnapshot,
  type StatusTunnelSource,
} from '@scanner/health'

/** The status page of a deployment; see {@link createDeploymentStatus}. */
export interface DeploymentStatus {
  readonly history: StatusHistory
  /** Routes for the operator port: `/status`, `/status/`, `/status/events`, `/status/history.json`. */
  readonly routes: Readonly<Record<string, StatusRouteHandler>>
  /**
   * Records a tunnel's state changes, restarts and QUIC incidents from now on. With
   * `simulated: true` (the cloudflared simulator) the page marks its made-up URL as such.
   */
  watchTunnel(tunnel: StatusTunnelSource, options?: { readonly simulated?: boolean }): void
  /** Stops recording and ends the page's event streams. Idempotent. */
  close(): Promise<void>
}

/**
 * Creates the history and the status page of a deployment and records the breakers' and the
 * DNS monitor's transitions in it (the tunnel is added with `watchTunnel` once it exists).
 *
 * @example
 * ```ts
 * const status = createDeploymentStatus({ history, health, breakers, dns, tunnel: () => tunnel })
 * await health.listenOperator({ routes: { ...status.routes } })
 * ```
 */
export function createDeploymentStatus(parts: {
  readonly history?: StatusHistory
  readonly title?: string
  readonly health: NonNullable<StatusSnapshotSources['health']>
  readonly breakers: StatusBreakerSource & NonNullable<StatusSnapshotSources['breakers']>
  readonly dns?: StatusDnsSource | undefined
  /** The tunnel, once there is one (it is created after the server listens). */
  readonly tunnel: () => { status(): StatusTunnelSnapshot } | undefined
}): DeploymentStatus {
  const history = parts.history ?? createStatusHistory()
  let simulated = false
  const tunnel = (): { status(): StatusTunnelSnapshot } | undefined => {
    const current = parts.tunnel()
    if (current === undefined || !simulated) return current
    return {
      status: () => {
        const status = current.status()
        return status.url === undefined
          ? status
          : { ...status, url: `${status.url} (simulated: it does not exist)` }
      },
    }
  }
  const disposers: Disposer[] = [recordBreakers(history, parts.breakers)]
  if (parts.dns !== undefined) disposers.push(recordDns(history, parts.dns))
  const page = createStatusPage({
    history,
    title: parts.title ?? 'scanner-api · status',
    snapshot: statusSnapshot({
      tunnel,
      health: parts.health,
      breakers: parts.breakers,
    }),
  })
  return {
    history,
    routes: page.routes,
    watchTunnel(source, options = {}) {
      simulated = options.simulated === true
      disposers.push(recordTunnel(history, source))
    },
    async close() {
      for (const dispose of disposers.splice(0)) dispose()
      await page.close()
    },
  }
}

type Level = 'warn' | 'error' | 'fatal'
const LEVELS: ReadonlySet<string> = new Set<Level>(['warn', 'error', 'fatal'])

/**
 * The same logger (a Proxy, so a pino logger keeps its type and every method), except that each
 * `warn`/`error`/`fatal` record carrying an `errorId` (what the breaker adapters log for an
 * unhandled error) is also added to `history`, with route, message and status but no stack.
 * Children record too.
 *
 * @example
 * ```ts
 * const logger = withErrorHistory(createDeploymentLogger(config), history)
 * ```
 */
export function withErrorHistory<T extends Logger>(logger: T, history: StatusHistory): T {
  return new Proxy(logger, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      if (property === 'child') {
        return (...args: unknown[]) =>
          withErrorHistory((value as (...a: unknown[]) => Logger).apply(target, args), history)
      }
      if (typeof property !== 'string' || !LEVELS.has(property)) {
        return (value as (...a: unknown[]) => unknown).bind(target)
      }
      return (...args: unknown[]) => {
        const record = args[0]
        if (typeof record === 'object' && record !== null && 'errorId' in record) {
          const { errorId, err, route, status } = record as Record<string, unknown>
          if (typeof errorId === 'string') {
            const detail =
              err instanceof Error ? err.message : typeof args[1] === 'string' ? args[1] : 'error'
            history.add({
              kind: 'error',
              errorId,
              source: 'api',
              message: typeof route === 'string' ? `${route}: ${detail}` : detail,
              ...(typeof status === 'number' ? { status } : {}),
            })
          }
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
}
