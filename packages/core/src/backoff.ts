import { checkNumber, checkOneOf, invalidOption } from './errors.js'

/** How random jitter is applied to each delay. */
export type JitterMode = 'full' | 'equal' | 'none'

/** Options of {@link createBackoff}. Every field is optional. */
export interface BackoffOptions {
  /**
   * Delay before the first retry, in milliseconds.
   * @default 1000
   */
  readonly initialDelayMs?: number
  /**
   * Multiplier applied after each attempt (must be >= 1).
   * @default 2
   */
  readonly factor?: number
  /**
   * Upper bound of any delay, in milliseconds (must be >= `initialDelayMs`).
   * @default 60000
   */
  readonly maxDelayMs?: number
  /**
   * `'full'`: uniform in [0, d]; `'equal'`: uniform in [d/2, d]; `'none'`: exactly d.
   * @default 'equal'
   */
  readonly jitter?: JitterMode
  /**
   * A run that lasted at least this long resets the backoff (see {@link Backoff.recordRun}).
   * @default 120000
   */
  readonly resetAfterMs?: number
  /**
   * Source of randomness in [0, 1), for tests.
   * @default Math.random
   */
  readonly random?: () => number
}

/** The resolved, validated options of a {@link Backoff}. */
export interface ResolvedBackoffOptions {
  readonly initialDelayMs: number
  readonly factor: number
  readonly maxDelayMs: number
  readonly jitter: JitterMode
  readonly resetAfterMs: number
}

/** p-retry compatible timing options (`retries` is left to the caller). */
export interface PRetryTimingOptions {
  readonly factor: number
  readonly minTimeout: number
  readonly maxTimeout: number
  readonly randomize: boolean
}

/** Exponential backoff with jitter; see {@link createBackoff}. */
export interface Backoff {
  /** Number of delays handed out since creation or the last reset. */
  readonly attempt: number
  /** The validated options. */
  readonly options: ResolvedBackoffOptions
  /** Returns the next delay in milliseconds and advances `attempt`. */
  next(): number
  /** The delay before jitter for a given attempt number (0-based), capped at `maxDelayMs`. */
  baseDelay(attempt: number): number
  /** Starts over from `initialDelayMs`. */
  reset(): void
  /**
   * Records how long a supervised run lasted; resets the backoff when it lasted at least
   * `resetAfterMs`. Returns true when it reset.
   */
  recordRun(durationMs: number): boolean
  /** The same timing as p-retry options, so retries elsewhere share one definition. */
  toPRetryOptions(): PRetryTimingOptions
}

/** The defaults of {@link createBackoff}, in one place. */
export const defaultBackoffOptions: ResolvedBackoffOptions = Object.freeze({
  initialDelayMs: 1000,
  factor: 2,
  maxDelayMs: 60_000,
  jitter: 'equal',
  resetAfterMs: 120_000,
})

/**
 * Validates backoff options and fills in defaults. Throws a `TypeError` naming the option
 * (prefixed with `prefix`, for example `backoff.factor`).
 */
export function resolveBackoffOptions(
  options: BackoffOptions = {},
  prefix = '',
): ResolvedBackoffOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption(prefix || 'options', 'an object', options)
  }
  const d = defaultBackoffOptions
  const initialDelayMs = checkNumber(
    `${prefix}initialDelayMs`,
    options.initialDelayMs,
    d.initialDelayMs,
  )
  const factor = checkNumber(`${prefix}factor`, options.factor, d.factor, { min: 1, max: 100 })
  const maxDelayMs = checkNumber(
    `${prefix}maxDelayMs`,
    options.maxDelayMs,
    Math.max(d.maxDelayMs, initialDelayMs),
  )
  if (maxDelayMs < initialDelayMs) {
    throw invalidOption(
      `${prefix}maxDelayMs`,
      `a number >= initialDelayMs (${initialDelayMs})`,
      maxDelayMs,
    )
  }
  const jitter = checkOneOf(`${prefix}jitter`, options.jitter, ['full', 'equal', 'none'], d.jitter)
  const resetAfterMs = checkNumber(`${prefix}resetAfterMs`, options.resetAfterMs, d.resetAfterMs)
  return { initialDelayMs, factor, maxDelayMs, jitter, resetAfterMs }
}

/**
 * Creates an exponential backoff with jitter, modelled on p-retry's timing
 * (`minTimeout * factor ** attempt`, capped at `maxTimeout`).
 *
 * @example
 * ```ts
 * const backoff = createBackoff({ initialDelayMs: 500, jitter: 'full' })
 * setTimeout(restart, backoff.next())
 * backoff.recordRun(runDurationMs) // resets after a stable run
 * await pRetry(fn, { retries: 5, ...backoff.toPRetryOptions() })
 * ```
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const resolved = resolveBackoffOptions(options)
  const random = options.random ?? Math.random
  if (typeof random !== 'function') throw invalidOption('random', 'a function', random)
  let attempt = 0

  const baseDelay = (n: number): number => {
    const raw = resolved.initialDelayMs * resolved.factor ** Math.max(0, n)
    return Math.min(resolved.maxDelayMs, raw)
  }

  return {
    get attempt() {
      return attempt
    },
    options: resolved,
    baseDelay,
    next() {
      const base = baseDelay(attempt)
      attempt++
      switch (resolved.jitter) {
        case 'none':
          return base
        case 'full':
          return Math.min(base, Math.floor(random() * (base + 1)))
        case 'equal': {
          const half = base / 2
          return Math.min(base, Math.floor(half + random() * (half + 1)))
        }
      }
    },
    reset() {
      attempt = 0
    },
    recordRun(durationMs) {
      if (durationMs >= resolved.resetAfterMs) {
        attempt = 0
        return true
      }
      return false
    },
    toPRetryOptions() {
      return {
        factor: resolved.factor,
        minTimeout: resolved.initialDelayMs,
        maxTimeout: resolved.maxDelayMs,
        randomize: resolved.jitter !== 'none',
      }
    },
  }
}
