import type { HealthCheck, HealthCheckDetails } from '@scanner/core'
import { invalidOption } from '@scanner/core'
import type { BreakerRegistry } from './registry.js'

/** Options of {@link breakerCheck}. */
export interface BreakerCheckOptions {
  /**
   * Component name in health reports.
   * @default 'circuit_breakers'
   */
  readonly name?: string
  /**
   * Whether an open breaker makes the service unhealthy rather than degraded.
   * @default false
   */
  readonly critical?: boolean
}

/** Defaults of {@link BreakerCheckOptions}. */
export const defaultBreakerCheckOptions = Object.freeze({
  name: 'circuit_breakers',
  critical: false,
})

/**
 * A health check (the core `HealthCheck` shape, for `@scanner/health`) that is `degraded`
 * while any route's breaker is open or half-open, and lists those routes in `open` and
 * `half_open`.
 *
 * @example
 * ```ts
 * const health = createHealth({ checks: [breakerCheck(registry)] })
 * // { status: 'degraded', breakers: 4, open: ['GET /api/quotes/:symbol'], half_open: [] }
 * ```
 */
export function breakerCheck(
  registry: BreakerRegistry,
  options: BreakerCheckOptions = {},
): HealthCheck {
  if (typeof registry !== 'object' || registry === null || typeof registry.stats !== 'function') {
    throw invalidOption('registry', 'a BreakerRegistry', registry)
  }
  const name = options.name ?? defaultBreakerCheckOptions.name
  if (typeof name !== 'string' || name === '')
    throw invalidOption('name', 'a non-empty string', name)
  const critical = options.critical ?? defaultBreakerCheckOptions.critical
  if (typeof critical !== 'boolean') throw invalidOption('critical', 'a boolean', critical)
  return {
    name,
    critical,
    run(): HealthCheckDetails {
      const open: string[] = []
      const halfOpen: string[] = []
      const stats = registry.closed ? [] : registry.stats()
      for (const s of stats) {
        if (s.state === 'open') open.push(s.key)
        else if (s.state === 'half-open') halfOpen.push(s.key)
      }
      const degraded = open.length + halfOpen.length > 0
      return {
        status: degraded ? 'degraded' : 'healthy',
        breakers: stats.length,
        open,
        half_open: halfOpen,
        ...(degraded ? { error: `circuit open: ${[...open, ...halfOpen].join(', ')}` } : {}),
      }
    },
  }
}
