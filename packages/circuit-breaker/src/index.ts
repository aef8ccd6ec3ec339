/**
 * Per-endpoint circuit breakers on opossum, with error IDs and RFC 9457 problem+json error
 * responses. The framework adapters live in `@scanner/circuit-breaker/express`, `/fastify`
 * and `/hono`.
 *
 * @module @scanner/circuit-breaker
 */
export {
  createBreakerRegistry,
  routeKey,
  defaultRegistryOptions,
  UNMATCHED_ROUTE,
} from './registry.js'
export type {
  BreakerRegistry,
  BreakerRegistryOptions,
  RouteBreaker,
  BreakerCall,
  BreakerRejection,
  BreakerState,
  BreakerStats,
  BreakerEvent,
  BreakerEvents,
} from './registry.js'
export { defaultBreakerOptions } from './options.js'
export type { BreakerOptions, ResolvedBreakerOptions, IsFailure } from './options.js'
export { breakerCheck, defaultBreakerCheckOptions } from './check.js'
export type { BreakerCheckOptions } from './check.js'
export {
  createErrorResponse,
  errorStatus,
  defaultErrorResponseOptions,
  PROBLEM_CONTENT_TYPE,
  BREAKER_OPEN_TYPE,
} from './problem.js'
export type { ErrorResponse, ErrorResponseOptions, ProblemDetails } from './problem.js'
export {
  BreakerError,
  BreakerOpenError,
  BreakerTimeoutError,
  isBreakerError,
  fromOpossumError,
} from './errors.js'
export type { BreakerErrorCode, BreakerErrorOptions } from './errors.js'
export { defaultHttpBreakerOptions } from './http-options.js'
export type { HttpBreakerOptions } from './http-options.js'
