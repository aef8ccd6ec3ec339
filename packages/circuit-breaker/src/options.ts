import { checkNumber, invalidOption } from '@scanner/core'

/**
 * Decides about a finished call (a failure for `isFailure`, ignored for `isIgnored`), from the
 * final HTTP status and the error the handler threw (if any). `run()` calls it with 200 for a
 * resolved function and 500 plus the error for a rejected one. 499 stands for a client that went
 * away before the response ended.
 */
export type IsFailure = (status: number, error: unknown) => boolean

/**
 * Breaker settings. Set them for every route in {@link BreakerRegistryOptions} and override
 * them per route in `routes`.
 */
export interface BreakerOptions {
  /**
   * Failure percentage in the rolling window above which the breaker opens.
   * @default 50
   */
  readonly errorThresholdPercentage?: number
  /**
   * Minimum number of calls in the rolling window before the breaker may open.
   * @default 10
   */
  readonly volumeThreshold?: number
  /**
   * Length of the rolling statistics window, in milliseconds.
   * @default 10000
   */
  readonly rollingCountTimeoutMs?: number
  /**
   * Number of buckets the rolling window is split into.
   * @default 10
   */
  readonly rollingCountBuckets?: number
  /**
   * Time an open breaker waits before letting one trial call through (half-open), in
   * milliseconds.
   * @default 30000
   */
  readonly resetTimeoutMs?: number
  /**
   * Slow-call limit in milliseconds: a call still running after it counts as a failure (the
   * handler itself is not interrupted). `0` or `false` disables the limit.
   * @default 10000
   */
  readonly timeoutMs?: number | false
  /**
   * Maximum number of concurrent calls per route; further calls are rejected with 503
   * (`ERR_BREAKER_CAPACITY`).
   * @default Number.MAX_SAFE_INTEGER (no limit)
   */
  readonly capacity?: number
  /**
   * Decides whether a call failed.
   * @default (status) => status >= 500
   */
  readonly isFailure?: IsFailure
  /**
   * Decides whether a finished call is ignored: counted neither as a success nor as a failure
   * (as resilience4j's ignored exceptions), so a client's bad requests can neither open a breaker
   * nor dilute the failures that should. Checked before `isFailure`. An ignored half-open trial
   * leaves the breaker half-open for the next request. `() => false` restores the behaviour of
   * 0.1 (4xx counted as successes).
   * @default (status) => status >= 400 && status < 500
   */
  readonly isIgnored?: IsFailure
}

/** Breaker settings with every default applied. */
export interface ResolvedBreakerOptions {
  readonly errorThresholdPercentage: number
  readonly volumeThreshold: number
  readonly rollingCountTimeoutMs: number
  readonly rollingCountBuckets: number
  readonly resetTimeoutMs: number
  readonly timeoutMs: number
  readonly capacity: number
  readonly isFailure: IsFailure
  readonly isIgnored: IsFailure
}

/** Default breaker settings (one place, merged once per route). */
export const defaultBreakerOptions: ResolvedBreakerOptions = Object.freeze({
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  rollingCountTimeoutMs: 10_000,
  rollingCountBuckets: 10,
  resetTimeoutMs: 30_000,
  timeoutMs: 10_000,
  capacity: Number.MAX_SAFE_INTEGER,
  isFailure: (status: number): boolean => status >= 500,
  isIgnored: (status: number): boolean => status >= 400 && status < 500,
})

const MAX_TIMER = 2_147_483_647

/**
 * Validates `input` and merges it over `base`. Throws the `TypeError` from `invalidOption`
 * naming the option (prefixed with `prefix`).
 */
export function resolveBreakerOptions(
  input: BreakerOptions | undefined,
  base: ResolvedBreakerOptions = defaultBreakerOptions,
  prefix = '',
): ResolvedBreakerOptions {
  if (input === undefined) return base
  if (typeof input !== 'object' || input === null) {
    throw invalidOption(prefix === '' ? 'options' : prefix.slice(0, -1), 'an object', input)
  }
  const name = (key: string): string => prefix + key
  const timeoutMs: unknown = input.timeoutMs === false ? 0 : input.timeoutMs
  const isFailure = input.isFailure ?? base.isFailure
  if (typeof isFailure !== 'function') {
    throw invalidOption(name('isFailure'), 'a function', isFailure)
  }
  const isIgnored = input.isIgnored ?? base.isIgnored
  if (typeof isIgnored !== 'function') {
    throw invalidOption(name('isIgnored'), 'a function', isIgnored)
  }
  const rollingCountTimeoutMs = checkNumber(
    name('rollingCountTimeoutMs'),
    input.rollingCountTimeoutMs,
    base.rollingCountTimeoutMs,
    { min: 1, max: MAX_TIMER, integer: true },
  )
  const rollingCountBuckets = checkNumber(
    name('rollingCountBuckets'),
    input.rollingCountBuckets,
    base.rollingCountBuckets,
    { min: 1, max: rollingCountTimeoutMs, integer: true },
  )
  return {
    errorThresholdPercentage: checkNumber(
      name('errorThresholdPercentage'),
      input.errorThresholdPercentage,
      base.errorThresholdPercentage,
      { min: 0, max: 100 },
    ),
    volumeThreshold: checkNumber(
      name('volumeThreshold'),
      input.volumeThreshold,
      base.volumeThreshold,
      { min: 0, integer: true },
    ),
    rollingCountTimeoutMs,
    rollingCountBuckets,
    resetTimeoutMs: checkNumber(name('resetTimeoutMs'), input.resetTimeoutMs, base.resetTimeoutMs, {
      min: 1,
      max: MAX_TIMER,
      integer: true,
    }),
    timeoutMs: checkNumber(name('timeoutMs'), timeoutMs, base.timeoutMs, {
      min: 0,
      max: MAX_TIMER,
      integer: true,
    }),
    capacity: checkNumber(name('capacity'), input.capacity, base.capacity, {
      min: 1,
      integer: true,
    }),
    isFailure,
    isIgnored,
  }
}
