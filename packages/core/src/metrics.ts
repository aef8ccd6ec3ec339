import {
  Counter,
  Gauge,
  Histogram,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Metric,
  type Registry,
} from 'prom-client'

/** Prefix of every metric registered by `@scanner/*`. */
export const METRIC_PREFIX = 'scanner_'

type Config<T extends string, C> = Omit<C, 'registers' | 'name'> & {
  readonly name: string
  readonly labelNames?: readonly T[]
}

/** Creates prefixed metrics on one registry; see {@link defineMetrics}. */
export interface MetricFactory {
  counter<T extends string = string>(config: Config<T, CounterConfiguration<T>>): Counter<T>
  gauge<T extends string = string>(config: Config<T, GaugeConfiguration<T>>): Gauge<T>
  histogram<T extends string = string>(config: Config<T, HistogramConfiguration<T>>): Histogram<T>
}

function reuse<M extends Metric>(registry: Registry, name: string, make: () => M): M {
  const existing = registry.getSingleMetric(name)
  return existing ? (existing as M) : make()
}

/**
 * Registers a package's prom-client metrics, prefixed `scanner_`, on the registry the user
 * passed, and nothing anywhere when none was passed (the global registry is never touched).
 * Metrics already on the registry under the same name are reused, so two instances can share
 * one registry.
 *
 * @example
 * ```ts
 * const metrics = defineMetrics(options.metrics, (m) => ({
 *   restarts: m.counter({ name: 'tunnel_restarts_total', help: 'Restarts', labelNames: ['reason'] }),
 * }))
 * metrics?.restarts.inc({ reason: 'exit' })
 * ```
 */
export function defineMetrics<T>(
  registry: Registry | undefined,
  define: (factory: MetricFactory) => T,
): T | undefined {
  if (registry === undefined) return undefined
  if (
    typeof registry !== 'object' ||
    typeof (registry as Partial<Registry>).registerMetric !== 'function'
  ) {
    throw new TypeError('Invalid option "metrics": expected a prom-client Registry')
  }
  const full = (name: string): string =>
    name.startsWith(METRIC_PREFIX) ? name : METRIC_PREFIX + name
  const factory: MetricFactory = {
    counter: (config) => {
      const name = full(config.name)
      return reuse(registry, name, () => new Counter({ ...config, name, registers: [registry] }))
    },
    gauge: (config) => {
      const name = full(config.name)
      return reuse(registry, name, () => new Gauge({ ...config, name, registers: [registry] }))
    },
    histogram: (config) => {
      const name = full(config.name)
      return reuse(registry, name, () => new Histogram({ ...config, name, registers: [registry] }))
    },
  }
  return define(factory)
}
