import type * as Prom from 'prom-client'
import type { Registry } from 'prom-client'
import type { ProcessSupervisor, SupervisorState } from '../process-supervisor.js'

/** The Prometheus registry of `scanner-tunnel run`, served at `GET /metrics`. */
export interface CliMetrics {
  readonly registry: Registry
  /** The exposition's `Content-Type`. */
  readonly contentType: string
  /** Counts the origin service's restarts and follows its state. Returns a disposer. */
  watchOrigin(origin: ProcessSupervisor): () => void
}

const ORIGIN_STATES: readonly SupervisorState[] = [
  'starting',
  'running',
  'degraded',
  'backoff',
  'stopping',
  'stopped',
  'failed',
]

/**
 * Creates the CLI's registry: the tunnel (`scanner_tunnel_*`), DNS
 * monitor (`scanner_dns_*`) and origin (`scanner_origin_*`) metrics once their owners are given
 * the registry. `undefined` when prom-client (an optional peer dependency) is not installed.
 */
export async function createCliMetrics(): Promise<CliMetrics | undefined> {
  let prom: typeof Prom
  try {
    prom = await import('prom-client')
  } catch {
    return undefined
  }
  // No collectDefaultMetrics(): its nodejs_active_*_total gauges fail `promtool check metrics`.
  const registry = new prom.Registry()
  const restarts = new prom.Counter({
    name: 'scanner_origin_restarts_total',
    help: 'Restarts of the origin service by reason',
    labelNames: ['reason'],
    registers: [registry],
  })
  const state = new prom.Gauge({
    name: 'scanner_origin_state',
    help: '1 for the current state of the origin supervisor, 0 for the others',
    labelNames: ['state'],
    registers: [registry],
  })
  const setState = (current: string): void => {
    for (const s of ORIGIN_STATES) state.set({ state: s }, s === current ? 1 : 0)
  }
  return {
    registry,
    contentType: registry.contentType,
    watchOrigin(origin) {
      setState(origin.state)
      const offState = origin.onStateChange(({ state: s }) => {
        setState(s)
      })
      const offRestart = origin.onRestart(({ reason }) => {
        restarts.inc({ reason })
      })
      return () => {
        offState()
        offRestart()
      }
    },
  }
}
