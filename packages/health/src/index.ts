/**
 * Health endpoints for services behind a Cloudflare Tunnel: a framework-agnostic core serving
 * `/health/`, `/health/detailed/`, `/health/ready/` and `/health/live/` (with per-check
 * timeouts, a request deadline, a shared result cache, details authorization and draining),
 * built-in checks (system, HTTP, database, DNS) and a DNS monitor with opt-in recovery actions.
 * Adapters: `@scanner/health/express`, `@scanner/health/fastify`, `@scanner/health/hono`.
 *
 * @module @scanner/health
 */
export { createHealth, toResponse, fetchHeaders } from './health.js'
export type {
  Health,
  HealthOptions,
  HealthRequest,
  HealthResponse,
  HealthReport,
  HealthComponent,
  HealthEndpoint,
  HealthFormat,
  HealthRoute,
  DetailsPolicy,
  DetailsAuthorization,
} from './health.js'
export type { OperatorOptions, OperatorRouteHandler, OperatorServer } from './operator.js'
export { closeConnectionsWhenDraining } from './drain.js'
export type { DrainableServer } from './drain.js'
export { systemCheck, httpCheck, databaseCheck } from './checks.js'
export type {
  SystemCheck,
  SystemCheckOptions,
  HttpCheckOptions,
  DatabaseCheckOptions,
} from './checks.js'
export { createDnsMonitor, dnsCheck } from './dns.js'
export type {
  DnsMonitor,
  DnsMonitorOptions,
  DnsReport,
  DnsResolverResult,
  DnsState,
  DnsEventName,
  DnsRecoveryAction,
  DnsRecoveryContext,
  DnsCheckOptions,
} from './dns.js'
export {
  flushSystemdResolved,
  restoreSystemResolvers,
  useFallbackResolvers,
  writeResolvConf,
} from './recovery.js'
export type {
  FlushSystemdResolvedOptions,
  UseFallbackResolversOptions,
  WriteResolvConfOptions,
} from './recovery.js'
export type { HealthErrorCode } from './errors.js'
export * from './status/index.js'
export type { HealthCheck, HealthCheckDetails, HealthStatus } from '@scanner/core'
