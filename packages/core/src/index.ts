/**
 * Shared foundation of the `@scanner/*` packages: typed errors, a pino logger with secret
 * redaction and the watchdog's log directory, exponential backoff, error IDs, the shared
 * `HealthCheck` shape, prom-client metric registration and typed subscriptions.
 *
 * @module @scanner/core
 */
export {
  ScannerError,
  isScannerError,
  invalidOption,
  isInvalidOptionError,
  checkNumber,
  checkOneOf,
  INVALID_OPTION,
} from './errors.js'
export type { ScannerErrorOptions, InvalidOptionError, NumberConstraints } from './errors.js'
export { createErrorId, isErrorId, errorIdTime } from './error-id.js'
export { createBackoff, resolveBackoffOptions, defaultBackoffOptions } from './backoff.js'
export type {
  Backoff,
  BackoffOptions,
  JitterMode,
  ResolvedBackoffOptions,
  PRetryTimingOptions,
} from './backoff.js'
export {
  createLogger,
  noopLogger,
  defaultRedactKeys,
  defaultRedactPaths,
  logFiles,
} from './logger.js'
export type { Logger, LogFn, CreateLoggerOptions, ScannerLogger } from './logger.js'
export { outputLimitDefaults } from './log-limit.js'
export type { OutputLimitOptions } from './log-limit.js'
export type { HealthCheck, HealthCheckDetails, HealthStatus } from './check.js'
export { defineMetrics, METRIC_PREFIX } from './metrics.js'
export type { MetricFactory } from './metrics.js'
export { Emitter } from './events.js'
export type { Disposer, Listener } from './events.js'
