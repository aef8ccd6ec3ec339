/**
 * `@scanner/tunnel`: supervise cloudflared from a Node service. `createTunnel()` starts it with
 * safe defaults, restarts it with backoff, detects QUIC timeouts, dead tunnels and DNS trouble,
 * gives up on errors a restart cannot fix and stops it with nothing left running.
 * `classifyCloudflaredLine()` turns any cloudflared output line into a typed event, and
 * `createProcessSupervisor()` supervises any other process the same way.
 *
 * @module @scanner/tunnel
 */
export { createTunnel, startTunnel } from './supervisor.js'
export { tunnelCheck, tunnelHealth } from './tunnel/health.js'
export type { TunnelCheckOptions } from './tunnel/health.js'
export { tunnelDefaults } from './tunnel/options.js'
export type {
  TunnelOptions,
  TunnelKind,
  QuicTimeoutOptions,
  ProtocolFallbackOptions,
  RecoveryProbeOptions,
  HandoverOptions,
  DnsMonitorLike,
  DnsMonitorState,
} from './tunnel/options.js'
export type {
  Tunnel,
  TunnelState,
  TunnelStatus,
  TunnelEvents,
  TunnelRestartEvent,
  TunnelHandoverEvent,
  TunnelReplicaStatus,
  TunnelLineEvent,
  TunnelFailure,
  TunnelErrorLine,
  TunnelProbeStatus,
  RestartReason,
  RestartStrategy,
  FailureReason,
  EnvironmentCause,
  WaitForReadyOptions,
  ReplaceOptions,
  HandoverResult,
} from './tunnel/types.js'
export { createProcessSupervisor, processSupervisorDefaults } from './process-supervisor.js'
export type {
  ProcessSupervisor,
  ProcessSupervisorOptions,
  ProcessSupervisorEvents,
  ProcessStatus,
  ProcessRestartEvent,
  ProcessExitEvent,
  OutputLineEvent,
  RestartPolicy,
  StateChangeEvent,
  SupervisorState,
  SupervisorFailure,
} from './process-supervisor.js'
export { buildCloudflaredArgs } from './args.js'
export type {
  TunnelProtocol,
  CloudflaredLogLevel,
  CloudflaredArgsInput,
  CloudflaredCommand,
} from './args.js'
export { probeReady } from './readiness.js'
export { findExecutable } from './internal/proc.js'
export type { ReadyResult, ProbeReadyOptions, UrlProbeResult } from './readiness.js'
export { TunnelError, isTunnelError } from './errors.js'
export type { TunnelErrorCode, TunnelErrorOptions } from './errors.js'
export {
  classifyCloudflaredLine,
  createLineClassifier,
  MAX_CLASSIFIED_LINE_LENGTH,
} from './classify.js'
export type {
  CloudflaredEvent,
  CloudflaredEventKind,
  CloudflaredLevel,
  CloudflaredLineFormat,
  LineClassifier,
} from './classify.js'
