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
 * answers with (400 bad input, 404 unknown symbol, 502/504 upstream failures). 4xx errors
 * carry `expose: true` (the http-errors convention), so the circuit-breaker error handler shows
 * their message and code to the client; 5xx messages stay in the log.
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
): ScannerError<DomainErrorCode> & { readonly expose: boolean } {
  const status = STATUS[code]
  return Object.assign(new ScannerError(code, message, { status, cause }), {
    expose: status < 500,
  })
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
