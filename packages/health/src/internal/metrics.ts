import { defineMetrics } from '@scanner/core'
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** The prom-client metrics of a health instance. */
export interface HealthMetrics {
  readonly duration: Histogram<'check' | 'status'>
  readonly status: Gauge<'check' | 'status'>
  readonly requests: Counter<'endpoint' | 'code'>
}

/** Registers the health metrics on `registry`, or nothing when there is none. */
export function createHealthMetrics(registry: Registry | undefined): HealthMetrics | undefined {
  return defineMetrics(registry, (m) => ({
    duration: m.histogram({
      name: 'health_check_duration_seconds',
      help: 'Duration of health check runs, in seconds',
      labelNames: ['check', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    status: m.gauge({
      name: 'health_check_status',
      help: 'Latest status of each health check (1 for the current status, 0 for the others)',
      labelNames: ['check', 'status'],
    }),
    requests: m.counter({
      name: 'health_requests_total',
      help: 'Requests answered by the health endpoints',
      labelNames: ['endpoint', 'code'],
    }),
  }))
}

/** The prom-client metrics of a DNS monitor. */
export interface DnsMetrics {
  readonly state: Gauge<'state'>
  readonly queries: Counter<'kind' | 'result'>
  readonly latency: Histogram<'kind'>
}

/** Registers the DNS monitor metrics on `registry`, or nothing when there is none. */
export function createDnsMetrics(registry: Registry | undefined): DnsMetrics | undefined {
  return defineMetrics(registry, (m) => ({
    state: m.gauge({
      name: 'dns_state',
      help: 'State of the DNS monitor (1 for the current state, 0 for the others)',
      labelNames: ['state'],
    }),
    queries: m.counter({
      name: 'dns_queries_total',
      help: 'DNS queries made by the DNS monitor, by resolver kind and result',
      labelNames: ['kind', 'result'],
    }),
    latency: m.histogram({
      name: 'dns_query_duration_seconds',
      help: 'Duration of DNS queries made by the DNS monitor, in seconds',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
  }))
}
