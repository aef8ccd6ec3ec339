import type { HealthStatus } from '@scanner/core'
import type { ComponentResult } from './runner.js'

/** A status in the `application/health+json` vocabulary. */
export type HealthJsonStatus = 'pass' | 'warn' | 'fail'

const TO_HEALTH_JSON: Readonly<Record<HealthStatus, HealthJsonStatus>> = {
  healthy: 'pass',
  degraded: 'warn',
  unhealthy: 'fail',
}

/** Maps `healthy | degraded | unhealthy` to `pass | warn | fail`. */
export function healthJsonStatus(status: HealthStatus): HealthJsonStatus {
  return TO_HEALTH_JSON[status]
}

/** One entry of the `checks` object of an `application/health+json` document. */
export interface HealthJsonCheck {
  readonly componentId: string
  readonly componentType?: string
  readonly status: HealthJsonStatus
  readonly time: string
  readonly observedValue?: unknown
  readonly observedUnit?: string
  readonly output?: string
}

const MEASUREMENTS: readonly {
  readonly field: string
  readonly key: (name: string) => string
  readonly unit: string
  readonly type?: string
}[] = [
  { field: 'latency_ms', key: (name) => `${name}:responseTime`, unit: 'ms' },
  { field: 'cpu_percent', key: () => 'cpu:utilization', unit: 'percent', type: 'system' },
  { field: 'memory_percent', key: () => 'memory:utilization', unit: 'percent', type: 'system' },
]

/**
 * Turns components into the `checks` object of `application/health+json`
 * (draft-inadarei-api-health-check), keyed `component:measurement`: `latency_ms` becomes
 * `<name>:responseTime`, `cpu_percent` `cpu:utilization`, `memory_percent`
 * `memory:utilization`; a component without a known measurement is keyed by its name alone.
 */
export function toHealthJsonChecks(
  components: Readonly<Record<string, ComponentResult>>,
  time: string,
): Record<string, HealthJsonCheck[]> {
  const checks: Record<string, HealthJsonCheck[]> = {}
  for (const [name, component] of Object.entries(components)) {
    const base: HealthJsonCheck = {
      componentId: name,
      status: healthJsonStatus(component.status),
      time,
      ...(typeof component.error === 'string' ? { output: component.error } : {}),
    }
    let measured = false
    for (const m of MEASUREMENTS) {
      const value = component[m.field]
      if (typeof value !== 'number') continue
      measured = true
      const key = m.key(name)
      const entry: HealthJsonCheck = {
        ...base,
        ...(m.type === undefined ? {} : { componentType: m.type }),
        observedValue: value,
        observedUnit: m.unit,
      }
      ;(checks[key] ??= []).push(entry)
    }
    if (!measured) (checks[name] ??= []).push(base)
  }
  return checks
}
