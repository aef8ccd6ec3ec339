import { ScannerError, isScannerError } from '@scanner/core'

/** Codes of the errors the domain throws on purpose. */
export type DomainErrorCode =
  | 'ERR_DOMAIN_INVALID_INPUT'
  | 'ERR_DOMAIN_NOT_FOUND'
  | 'ERR_DOMAIN_UPSTREAM'
  | 'ERR_DOMAIN_UPSTREAM_TIMEOUT'

const STATUS: Record<DomainErrorCode, number> = {
  ERR_DOMAIN_INVALID_INPUT: 400,
  ERR_DOMAIN_NOT_FOUND: 404,
  ERR_DOMAIN_UPSTREAM: 502,
  ERR_DOMAIN_UPSTREAM_TIMEOUT: 504,
}

/**
 * Builds a domain error: a {@link ScannerError} whose `status` is the HTTP status the API
 * answers with (400 bad input, 404 unknown symbol, 502/504 upstream failures).
 *
 * @example
 * ```ts
 * throw domainError('ERR_DOMAIN_NOT_FOUND', 'Unknown symbol "ZZZ"')
 * ```
 */
export function domainError(
  code: DomainErrorCode,
  message: string,
  cause?: unknown,
): ScannerError<DomainErrorCode> {
  return new ScannerError(code, message, { status: STATUS[code], cause })
}

/**
 * Tells whether `value` is an error thrown by the domain, optionally with a given code.
 *
 * @example
 * ```ts
 * if (isDomainError(err, 'ERR_DOMAIN_NOT_FOUND')) return reply.code(404).send()
 * ```
 */
export function isDomainError(
  value: unknown,
  code?: DomainErrorCode,
): value is ScannerError<DomainErrorCode> {
  return isScannerError(value, code) && value.code.startsWith('ERR_DOMAIN_')
}

/**
 * The client-facing status and body for a domain error (4xx keeps its message: it is about
 * the caller's input; 5xx errors are answered by the circuit-breaker error handler instead).
 */
export function clientError(error: ScannerError<DomainErrorCode>): {
  readonly status: number
  readonly body: { readonly error: string; readonly code: DomainErrorCode; readonly message: string }
} {
  const status = error.status ?? 500
  return {
    status,
    body: { error: error.code === 'ERR_DOMAIN_NOT_FOUND' ? 'not_found' : 'bad_request', code: error.code, message: error.message },
  }
}
