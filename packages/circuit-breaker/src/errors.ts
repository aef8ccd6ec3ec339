import { ScannerError, isScannerError } from '@scanner/core'
import CircuitBreaker from 'opossum'

/**
 * Codes of the errors raised by `@scanner/circuit-breaker`.
 *
 * - `ERR_BREAKER_OPEN`: the route's breaker is open (opossum `EOPENBREAKER`).
 * - `ERR_BREAKER_TIMEOUT`: the call took longer than `timeoutMs` (opossum `ETIMEDOUT`).
 * - `ERR_BREAKER_CAPACITY`: `capacity` concurrent calls are already running (opossum `ESEMLOCKED`).
 * - `ERR_BREAKER_SHUTDOWN`: the breaker was shut down by `registry.close()` or LRU eviction
 *   (opossum `ESHUTDOWN`).
 */
export type BreakerErrorCode =
  'ERR_BREAKER_OPEN' | 'ERR_BREAKER_TIMEOUT' | 'ERR_BREAKER_CAPACITY' | 'ERR_BREAKER_SHUTDOWN'

/** Options of {@link BreakerError}. */
export interface BreakerErrorOptions {
  /** Route key of the breaker, for example `GET /api/quotes/:symbol`. */
  readonly key?: string
  /** Whole seconds until a retry may succeed (sent as `Retry-After`). */
  readonly retryAfter?: number
  /** The original (opossum) error. */
  readonly cause?: unknown
}

/**
 * Error raised by a breaker. Every one carries `status` 503 and `expose: true` (its message
 * is safe to show to clients), the route `key`, and `retryAfter` in whole seconds.
 *
 * @example
 * ```ts
 * try {
 *   await registry.get('GET /quotes').run(() => feed.quote('ACME'))
 * } catch (err) {
 *   if (isBreakerError(err, 'ERR_BREAKER_OPEN')) console.log(err.retryAfter)
 * }
 * ```
 */
export class BreakerError<
  Code extends BreakerErrorCode = BreakerErrorCode,
> extends ScannerError<Code> {
  override readonly name: string = 'BreakerError'
  /** Route key of the breaker. */
  readonly key: string | undefined
  /** Whole seconds until a retry may succeed. */
  readonly retryAfter: number | undefined
  /** The message is safe to show to clients (http-errors convention). */
  readonly expose = true as const

  constructor(code: Code, message: string, options: BreakerErrorOptions = {}) {
    super(code, message, { status: 503, cause: options.cause })
    this.key = options.key
    this.retryAfter = options.retryAfter
  }
}

/**
 * The breaker of a route is open: the call was not made. `retryAfter` tells when the breaker
 * lets the next trial through.
 *
 * @example
 * ```ts
 * throw new BreakerOpenError({ key: 'GET /quotes', retryAfter: 12 })
 * ```
 */
export class BreakerOpenError extends BreakerError<'ERR_BREAKER_OPEN'> {
  override readonly name: string = 'BreakerOpenError'

  constructor(options: BreakerErrorOptions = {}) {
    super('ERR_BREAKER_OPEN', 'Service temporarily unavailable: circuit open', options)
  }
}

/**
 * The call took longer than the route's `timeoutMs` and was counted as a failure.
 *
 * @example
 * ```ts
 * if (err instanceof BreakerTimeoutError) log.warn({ key: err.key }, 'slow call')
 * ```
 */
export class BreakerTimeoutError extends BreakerError<'ERR_BREAKER_TIMEOUT'> {
  override readonly name: string = 'BreakerTimeoutError'
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number

  constructor(timeoutMs: number, options: BreakerErrorOptions = {}) {
    super('ERR_BREAKER_TIMEOUT', `Call timed out after ${timeoutMs} ms`, options)
    this.timeoutMs = timeoutMs
  }
}

/**
 * Tells whether `value` is a {@link BreakerError}, optionally with a given code. Checks the
 * `@scanner` brand and the code, so it works across duplicate installs.
 *
 * @example
 * ```ts
 * if (isBreakerError(err, 'ERR_BREAKER_OPEN')) res.setHeader('Retry-After', err.retryAfter ?? 1)
 * ```
 */
export function isBreakerError<Code extends BreakerErrorCode = BreakerErrorCode>(
  value: unknown,
  code?: Code,
): value is BreakerError<Code> {
  if (code !== undefined) return isScannerError(value, code)
  return isScannerError(value) && value.code.startsWith('ERR_BREAKER_')
}

const OPOSSUM_CODES: Readonly<Record<string, BreakerErrorCode>> = {
  EOPENBREAKER: 'ERR_BREAKER_OPEN',
  ETIMEDOUT: 'ERR_BREAKER_TIMEOUT',
  ESEMLOCKED: 'ERR_BREAKER_CAPACITY',
  ESHUTDOWN: 'ERR_BREAKER_SHUTDOWN',
}

const MESSAGES: Readonly<Record<BreakerErrorCode, string>> = {
  ERR_BREAKER_OPEN: 'Service temporarily unavailable: circuit open',
  ERR_BREAKER_TIMEOUT: 'Call timed out',
  ERR_BREAKER_CAPACITY: 'Service temporarily unavailable: too many concurrent calls',
  ERR_BREAKER_SHUTDOWN: 'Circuit breaker shut down',
}

/**
 * Maps an error raised by opossum itself (`EOPENBREAKER`, `ETIMEDOUT`, `ESEMLOCKED`,
 * `ESHUTDOWN`, recognised with `CircuitBreaker.isOurError`) to a {@link BreakerError} that keeps it as `cause`; any other value (an error
 * of the action itself) is returned unchanged.
 *
 * @example
 * ```ts
 * await opossumBreaker.fire().catch((err) => { throw fromOpossumError(err, { key }) })
 * ```
 */
export function fromOpossumError(error: unknown, options: BreakerErrorOptions = {}): unknown {
  if (typeof error !== 'object' || error === null) return error
  if (!CircuitBreaker.isOurError(error as Error)) return error
  const code = (error as { code?: unknown }).code
  if (typeof code !== 'string') return error
  const mapped = OPOSSUM_CODES[code]
  if (mapped === undefined) return error
  const withCause = { ...options, cause: error }
  if (mapped === 'ERR_BREAKER_OPEN') return new BreakerOpenError(withCause)
  return new BreakerError(mapped, MESSAGES[mapped], withCause)
}
