/*
 * The status page of the operator port: the event history, its adapters from the packages'
 * public APIs, the snapshot of the current state, and the page with its event stream.
 */
export {
  createStatusHistory,
  statusHistoryDefaults,
  STATUS_EVENT_KINDS,
  STATUS_FIELD_LIMITS,
} from './history.js'
export type {
  StatusHistory,
  StatusHistoryOptions,
  StatusHistoryQuery,
  StatusHistoryJson,
  StatusEvent,
  StatusEventInput,
  StatusEventKind,
  StatusStateEvent,
  StatusRestartEvent,
  StatusQuicEvent,
  StatusDnsEvent,
  StatusBreakerEvent,
  StatusErrorEvent,
} from './history.js'
export { recordTunnel, recordBreakers, recordDns, recordErrors } from './sources.js'
export type {
  StatusTunnelSource,
  StatusRestartLike,
  StatusBreakerSource,
  StatusBreakerEventLike,
  StatusDnsSource,
} from './sources.js'
export { statusSnapshot } from './snapshot.js'
export type {
  StatusSnapshot,
  StatusSnapshotSources,
  StatusTunnelSnapshot,
  StatusComponentSnapshot,
  StatusBreakerSnapshot,
} from './snapshot.js'
export { createStatusPage, statusPageDefaults } from './page.js'
export type { StatusPage, StatusPageOptions, StatusRouteHandler } from './page.js'
export { STATUS_WINDOWS } from './timeline.js'
export type { StatusWindow } from './timeline.js'
