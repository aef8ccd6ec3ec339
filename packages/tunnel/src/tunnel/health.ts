/**
 * The tunnel as a `@scanner/core` health check: `tunnelCheck()` and `tunnelHealth()`.
 */
import { checkNumber } from '@scanner/core'
import type { HealthCheck, HealthCheckDetails, HealthStatus } from '@scanner/core'
import { checkBoolean, checkString } from '../internal/options.js'
import type { Tunnel, TunnelState } from './types.js'

/** Options of {@link tunnelCheck}. */
export interface TunnelCheckOptions {
  /**
   * Check name (the key in `/health/detailed/`).
   * @default 'tunnel'
   */
  readonly name?: string
  /**
   * Whether a failed tunnel makes the whole service unhealthy.
   * @default false
   */
  readonly critical?: boolean
  /**
   * Time limit of the check (it only reads state).
   * @default 100
   */
  readonly timeoutMs?: number
}

/** Maps a tunnel state to a health status. */
export function tunnelHealth(state: TunnelState): HealthStatus {
  switch (state) {
    case 'running':
      return 'healthy'
    case 'starting':
    case 'degraded':
    case 'backoff':
    case 'stopping':
      return 'degraded'
    default:
      return 'unhealthy'
  }
}

/**
 * A health check (the `@scanner/core` `HealthCheck` shape) reporting the tunnel: `running` is
 * healthy, `starting`/`degraded`/`backoff`/`stopping` degraded, `failed`/`stopped` unhealthy.
 *
 * @example
 * ```ts
 * const health = createHealth({ checks: [tunnelCheck(tunnel)] })
 * ```
 */
export function tunnelCheck(tunnel: Tunnel, options: TunnelCheckOptions = {}): HealthCheck {
  const name = checkString('name', options.name) ?? 'tunnel'
  const critical = checkBoolean('critical', options.critical, false)
  const timeoutMs = checkNumber('timeoutMs', options.timeoutMs, 100)
  return {
    name,
    critical,
    timeoutMs,
    run(): HealthCheckDetails {
      const s = tunnel.status()
      const status = tunnelHealth(s.state)
      return {
        status,
        state: s.state,
        protocol: s.activeProtocol ?? s.protocol,
        ready_connections: s.readyConnections,
        restarts: s.restarts.total,
        pid: s.pid ?? null,
        url: s.url ?? null,
        ...(status === 'healthy'
          ? {}
          : {
              error:
                s.failure?.message ??
                (s.hold === 'network-down' ? 'network down' : `tunnel ${s.state}`),
            }),
      }
    },
  }
}
