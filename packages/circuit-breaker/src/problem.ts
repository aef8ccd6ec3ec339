import { STATUS_CODES } from 'node:http'
import { createErrorId } from '@scanner/core'

/** Media type of every error body. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** `type` of the problem sent while a route's breaker is open. */
export const BREAKER_OPEN_TYPE = 'urn:scanner:problem:circuit-open'

/**
 * An RFC 9457 problem details body, as sent by every adapter.
 *
 * @example
 * ```json
 * {
 *   "type": "about:blank",
 *   "title": "Internal Server Error",
 *   "status": 500,
 *   "detail": "An unexpected error occurred. Quote the error ID when you report it.",
 *   "instance": "/api/quotes/ACME",
 *   "errorId": "err_01JDQ8X6R5T0Y3V9K2M4N6P8Q0",
 *   "requestId": "4f0c…"
 * }
 * ```
 */
export interface ProblemDetails {
  /** URI identifying the problem type: `about:blank`, or {@link BREAKER_OPEN_TYPE}. */
  readonly type: string
  /** Short summary of the problem type (the HTTP status text for `about:blank`). */
  readonly title: string
  /** HTTP status code. */
  readonly status: number
  /** Explanation for this occurrence, safe to show to the client. */
  readonly detail: string
  /** Path of the request that failed (without the query string). */
  readonly instance?: string
  /** ID of this error: also in the `X-Error-Id` header and the log line. */
  readonly errorId: string
  /** ID of the request (also echoed in `X-Request-Id`). */
  readonly requestId?: string
  /** Seconds to wait before retrying (503 and 429 only); also sent as `Retry-After`. */
  readonly retryAfter?: number
  /** Machine-readable code, when the error carried one and is client-safe or exposed. */
  readonly code?: string
  /** Stack trace, only when `exposeErrors` is set (development). */
  readonly stack?: string
}

/** A framework-agnostic error response: status, headers and problem+json body. */
export interface ErrorResponse {
  readonly status: number
  /** `Content-Type`, `Cache-Control`, `X-Error-Id`, and when known `X-Request-Id` and `Retry-After`. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: ProblemDetails
}

/** Options of {@link createErrorResponse}. */
export interface ErrorResponseOptions {
  /**
   * HTTP status to answer with; by default taken from the error's `status` or `statusCode`
   * when it is an integer 400-599, else 500.
   * @default from the error, else 500
   */
  readonly status?: number
  /**
   * Show the messages of 5xx errors and their stack traces. For development only.
   * @default false
   */
  readonly exposeErrors?: boolean
  /**
   * The error ID to use.
   * @default createErrorId()
   */
  readonly errorId?: string
  /** The request ID, echoed in the body and the `X-Request-Id` header. */
  readonly requestId?: string
  /** The request path, reported as `instance`. */
  readonly instance?: string
  /**
   * Seconds in `Retry-After` for 503 and 429 answers when the error does not say
   * (`retryAfter` property or a `Retry-After` entry in its `headers`).
   * @default 5
   */
  readonly retryAfter?: number
  /**
   * Problem `type` URI.
   * @default 'about:blank'
   */
  readonly type?: string
  /**
   * Problem `title`.
   * @default the HTTP status text
   */
  readonly title?: string
  /**
   * Problem `detail`; replaces the one derived from the error.
   * @default derived from the error and the status
   */
  readonly detail?: string
}

/** Defaults of {@link createErrorResponse}. */
export const defaultErrorResponseOptions = Object.freeze({
  exposeErrors: false,
  retryAfter: 5,
  type: 'about:blank',
})

const GENERIC_5XX = 'An unexpected error occurred. Quote the error ID when you report it.'
const GENERIC_4XX = 'The request could not be processed.'
const UNAVAILABLE = 'The service is temporarily unavailable. Retry after the indicated delay.'
const TOO_MANY = 'Too many requests. Retry after the indicated delay.'
const MAX_INSTANCE = 2048

interface ErrorFields {
  status?: unknown
  statusCode?: unknown
  expose?: unknown
  message?: unknown
  code?: unknown
  stack?: unknown
  retryAfter?: unknown
  headers?: unknown
}

function isHttpStatus(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599
}

/**
 * HTTP status that an error asks for: its `status` or `statusCode` when it is an integer
 * 400-599 (http-errors, Fastify and Hono errors), else 500.
 *
 * @example
 * ```ts
 * errorStatus(Object.assign(new Error('nope'), { status: 404 })) // 404
 * errorStatus(new Error('boom')) // 500
 * ```
 */
export function errorStatus(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 500
  const fields = error as ErrorFields
  if (isHttpStatus(fields.status)) return fields.status
  if (isHttpStatus(fields.statusCode)) return fields.statusCode
  return 500
}

function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const fields = error as ErrorFields
  if (typeof fields.retryAfter === 'number' && Number.isFinite(fields.retryAfter)) {
    return Math.max(0, Math.ceil(fields.retryAfter))
  }
  if (typeof fields.headers === 'object' && fields.headers !== null) {
    const headers = fields.headers as Record<string, unknown>
    const raw = headers['Retry-After'] ?? headers['retry-after']
    const seconds = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds)
  }
  return undefined
}

/**
 * Builds the problem+json response for an error, framework-agnostic; every adapter sends
 * what it returns. The client sees:
 *
 * - for 5xx: the status text and a generic message, never the error's message or stack
 *   (unless `exposeErrors`);
 * - for 4xx errors that declare themselves client-safe (`expose: true`, http-errors style):
 *   their own message and `code`; other 4xx get a generic message;
 * - for 503 and 429: `retryAfter` and a `Retry-After` header.
 *
 * @example
 * ```ts
 * const { status, headers, body } = createErrorResponse(err, {
 *   requestId: 'abc',
 *   instance: '/api/quotes/ACME',
 * })
 * res.writeHead(status, headers).end(JSON.stringify(body))
 * ```
 */
export function createErrorResponse(
  error: unknown,
  options: ErrorResponseOptions = {},
): ErrorResponse {
  const status = isHttpStatus(options.status) ? options.status : errorStatus(error)
  const exposeErrors = options.exposeErrors ?? defaultErrorResponseOptions.exposeErrors
  const errorId = options.errorId ?? createErrorId()
  const fields: ErrorFields = typeof error === 'object' && error !== null ? error : {}
  const message = typeof fields.message === 'string' ? fields.message : undefined
  const clientSafe = status < 500 && fields.expose === true
  const showInternals = exposeErrors || clientSafe

  let detail = options.detail
  if (detail === undefined) {
    if (showInternals && message !== undefined && message !== '') detail = message
    else if (status === 503) detail = UNAVAILABLE
    else if (status === 429) detail = TOO_MANY
    else detail = status >= 500 ? GENERIC_5XX : GENERIC_4XX
  }
  const body: {
    -readonly [K in keyof ProblemDetails]: ProblemDetails[K]
  } = {
    type: options.type ?? defaultErrorResponseOptions.type,
    title: options.title ?? STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    errorId,
  }
  if (options.instance !== undefined) body.instance = options.instance.slice(0, MAX_INSTANCE)
  if (options.requestId !== undefined) body.requestId = options.requestId
  const headers: Record<string, string> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
    'x-error-id': errorId,
  }
  if (options.requestId !== undefined) headers['x-request-id'] = options.requestId
  if (status === 503 || status === 429) {
    const retryAfter =
      retryAfterOf(error) ?? options.retryAfter ?? defaultErrorResponseOptions.retryAfter
    body.retryAfter = retryAfter
    headers['retry-after'] = String(retryAfter)
  }
  if (showInternals && typeof fields.code === 'string') body.code = fields.code
  if (exposeErrors && typeof fields.stack === 'string') body.stack = fields.stack
  return { status, headers, body }
}
