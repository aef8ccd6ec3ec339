import { randomUUID } from 'node:crypto'
import type { Logger } from '@scanner/core'

/** Options shared by the Express, Fastify and Hono adapters. */
export interface HttpBreakerOptions {
  /**
   * Logger for unhandled errors (one `error` line per error, with its error ID).
   * @default noopLogger
   */
  readonly logger?: Logger
  /**
   * Put 5xx error messages and stack traces in responses. Development only.
   * @default false
   */
  readonly exposeErrors?: boolean
  /**
   * Header carrying the incoming request ID; the response echoes the ID used in it.
   * @default 'x-request-id'
   */
  readonly requestIdHeader?: string
  /**
   * Makes a request ID when the incoming one is missing or invalid.
   * @default crypto.randomUUID
   */
  readonly generateRequestId?: () => string
  /**
   * Longest incoming request ID kept (longer ones are replaced).
   * @default 128
   */
  readonly maxRequestIdLength?: number
  /**
   * `Retry-After` seconds for thrown 503 and 429 errors that do not carry their own.
   * @default 5
   */
  readonly retryAfter?: number
  /**
   * Run requests through the route breakers. With `false` only request IDs and error
   * responses are handled.
   * @default true
   */
  readonly breaker?: boolean
  /**
   * Time a request admitted through a breaker has to finish sending its body, in milliseconds,
   * counted from admission. Past it the request gets a `408` problem+json
   * (`ERR_BODY_TIMEOUT`) with `Connection: close`, and the breaker counts the call as ignored
   * (neither success nor failure). Only requests whose body is still to come (`Content-Length`
   * above 0, or `Transfer-Encoding`) get a timer. Node's request and response are needed: Express,
   * Fastify, and Hono under `@hono/node-server`. `0` or `false` disables it.
   * @default 30000
   */
  readonly bodyTimeoutMs?: number | false
}

/** Defaults of {@link HttpBreakerOptions}. */
export const defaultHttpBreakerOptions = Object.freeze({
  exposeErrors: false,
  requestIdHeader: 'x-request-id',
  generateRequestId: (): string => randomUUID(),
  maxRequestIdLength: 128,
  retryAfter: 5,
  breaker: true,
  bodyTimeoutMs: 30_000,
})
