/**
 * The `scanner_tunnel_*` Prometheus metrics of a tunnel supervisor, registered on the registry
 * the user gives (nothing is registered globally).
 */
import { defineMetrics } from '@scanner/core'
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { RestartReason, TunnelState } from './types.js'

/** Every restart reason (metric label values, `status().restarts.byReason` keys). */
export const RESTART_REASONS: readonly RestartReason[] = [
  'exit',
  'self-update',
  'quic-timeouts',
  'not-ready',
  'public-url',
  'dns',
  'manual',
  'replace',
]
export const STATES: readonly TunnelState[] = [
  'starting',
  'running',
  'degraded',
  'backoff',
  'stopping',
  'stopped',
  'failed',
]

/** The metrics of one tunnel supervisor. */
export interface TunnelMetrics {
  readonly restarts: Counter<'tunnel' | 'reason'>
  readonly quic: Counter<'tunnel'>
  readonly dns: Counter<'tunnel' | 'source'>
  readonly ready: Gauge<'tunnel'>
  readonly handover: Histogram<'tunnel' | 'strategy'>
  readonly state: Gauge<'tunnel' | 'state'>
}

/** Registers (or reuses) the tunnel metrics on `registry`; undefined without one. */
export function defineTunnelMetrics(registry: Registry | undefined): TunnelMetrics | undefined {
  return defineMetrics(registry, (m) => ({
    restarts: m.counter({
      name: 'tunnel_restarts_total',
      help: 'cloudflared restarts by reason',
      labelNames: ['tunnel', 'reason'],
    }),
    quic: m.counter({
      name: 'tunnel_quic_timeouts_total',
      help: 'QUIC timeout incidents (one per timeout per connection)',
      labelNames: ['tunnel'],
    }),
    dns: m.counter({
      name: 'tunnel_dns_failures_total',
      help: 'DNS failures seen in cloudflared output (source=cloudflared) or by the DNS monitor (source=monitor)',
      labelNames: ['tunnel', 'source'],
    }),
    ready: m.gauge({
      name: 'tunnel_ready_connections',
      help: 'Ready connections of cloudflared (from /ready)',
      labelNames: ['tunnel'],
    }),
    handover: m.histogram({
      name: 'tunnel_handover_seconds',
      help: 'Restart handover time by strategy: make-before-break from the start of the new replica to the exit of the old one; break-before-make from the restart to the first ready connection (the time the tunnel was down)',
      labelNames: ['tunnel', 'strategy'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    }),
    state: m.gauge({
      name: 'tunnel_state',
      help: '1 for the current state of the tunnel supervisor, 0 for the others',
      labelNames: ['tunnel', 'state'],
    }),
  }))
}
