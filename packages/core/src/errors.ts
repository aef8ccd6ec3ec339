const BRAND: unique symbol = Symbol.for('@scanner/error') as never

/**
 * Options accepted by {@link ScannerError}.
 */
export interface ScannerErrorOptions {
  /** The error that caused this one; kept as the standard `cause`. */
  readonly cause?: unknown
  /** HTTP status for errors that reach a client. */
  readonly status?: number
}

/**
 * Base class of every error thrown by `@scanner/*` packages.
 *
 * It carries a literal `code` (`ERR_<PKG>_<REASON>`), the standard `cause`, and a brand
 * registered with `Symbol.for`, so {@link isScannerError} recognises it even when two copies
 * of the package are installed (dual ESM/CJS or duplicate installs).
 *
 * @example
 * ```ts
 * throw new ScannerError('ERR_TUNNEL_SPAWN', 'cloudflared could not be started', { cause: err })
 * ```
 */
export class ScannerError<Code extends string = string> extends Error {
  override readonly name: string = 'ScannerError'
  /** Machine-readable reason, `ERR_<PKG>_<REASON>`. */
  readonly code: Code
  /** HTTP status, for errors that are turned into responses. */
  readonly status: number | undefined
  readonly [BRAND] = true as const

  constructor(code: Code, message: string, options: ScannerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status
  }
}

/**
 * Tells whether `value` is a {@link ScannerError}, optionally with a given code. Checks the
 * brand and the code rather than `instanceof` alone, so it survives duplicate installs.
 *
 * @example
 * ```ts
 * if (isScannerError(err, 'ERR_TUNNEL_EXITED')) retry()
 * ```
 */
export function isScannerError<Code extends string = string>(
  value: unknown,
  code?: Code,
): value is ScannerError<Code> {
  if (typeof value !== 'object' || value === null) return false
  const branded = (value as Record<symbol, unknown>)[BRAND] === true
  if (!branded) return false
  const actual = (value as { code?: unknown }).code
  return code === undefined ? typeof actual === 'string' : actual === code
}

/** Code carried by every invalid-option `TypeError` thrown by `@scanner/*`. */
export const INVALID_OPTION = 'ERR_SCANNER_INVALID_OPTION'

/** A `TypeError` that names the option that was wrong. */
export interface InvalidOptionError extends TypeError {
  readonly code: typeof INVALID_OPTION
  /** Dotted path of the offending option, for example `backoff.factor`. */
  readonly option: string
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value)
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'function') return 'a function'
  return `an ${typeof value}`
}

/**
 * Builds the `TypeError` thrown for a bad option: it names the option, what was expected and
 * what was given (secrets are never echoed: strings are shown only when `showValue` is true).
 *
 * @example
 * ```ts
 * throw invalidOption('backoff.factor', 'a number >= 1', 0.5)
 * // TypeError: Invalid option "backoff.factor": expected a number >= 1, got 0.5
 * ```
 */
export function invalidOption(
  option: string,
  expected: string,
  value: unknown,
  showValue = true,
): InvalidOptionError {
  const got = showValue ? describe(value) : `a ${typeof value}`
  const error = new TypeError(`Invalid option "${option}": expected ${expected}, got ${got}`)
  return Object.assign(error, { code: INVALID_OPTION, option } as const)
}

/** Tells whether `value` is a TypeError built by {@link invalidOption}. */
export function isInvalidOptionError(value: unknown): value is InvalidOptionError {
  return (
    value instanceof TypeError && (value as Partial<InvalidOptionError>).code === INVALID_OPTION
  )
}

/** Range constraints for {@link checkNumber}. */
export interface NumberConstraints {
  readonly min?: number
  readonly max?: number
  readonly integer?: boolean
}

/**
 * Validates an optional numeric option and returns it (or `fallback` when undefined).
 * Throws {@link invalidOption} for NaN, infinities, wrong types and out-of-range values.
 */
export function checkNumber(
  option: string,
  value: unknown,
  fallback: number,
  constraints: NumberConstraints = {},
): number {
  if (value === undefined) return fallback
  const { min = 0, max = Number.MAX_SAFE_INTEGER, integer = false } = constraints
  const expected = `${integer ? 'an integer' : 'a number'} between ${min} and ${max}`
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidOption(option, expected, value)
  }
  if (value < min || value > max || (integer && !Number.isInteger(value))) {
    throw invalidOption(option, expected, value)
  }
  return value
}

/** Validates an optional option against a list of allowed string values. */
export function checkOneOf<T extends string>(
  option: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  throw invalidOption(option, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, value)
}
