import { checkNumber, createErrorId, invalidOption, noopLogger } from '@scanner/core'
import {
  BREAKER_OPEN_TYPE,
  PROBLEM_CONTENT_TYPE,
  createErrorResponse,
  errorStatus,
  type ErrorResponse,
} from '../problem.js'
import type { BreakerCall, BreakerRegistry } from '../registry.js'
import { routeKey } from '../registry.js'
import { defaultHttpBreakerOptions, type HttpBreakerOptions } from '../http-options.js'
import { armBodyDeadline, bodyTimeoutError, type DeadlineResponse } from './body-deadline.js'

export type { DeadlineResponse } from './body-deadline.js'

/** Per-request state kept on the framework's request object. */
export interface RequestState {
  requestId: string
  key: string | undefined
  call: BreakerCall | undefined
  error: unknown
}

/** What the adapter sends: status, headers and the already serialised body. */
export interface SendableResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** Request facts the core needs, read by the adapter. */
export interface RequestInfo {
  readonly method: string
  /** Route pattern, or undefined when no route matched. */
  readonly pattern: string | undefined
  /** Request path (query strings are stripped). */
  readonly url: string
}

/**
 * Where a request's state is kept on the framework's request object. Adapters whose framework
 * can declare a request property up front (Fastify's `decorateRequest(STATE, null)`) do so, so
 * that setting it does not change the shape of every request object.
 */
export const STATE: unique symbol = Symbol.for('@scanner/circuit-breaker.state') as never
const SAFE_ID = /^[\w.:@+=/-]+$/

type Holder = Record<typeof STATE, RequestState | null | undefined>

/** The Node response of a request, as far as {@link endOnClose} needs it. */
interface ClosingResponse {
  readonly writableEnded: boolean
  readonly statusCode: number
  /** The request it answers (Node.js >= 15.7). */
  readonly req?: unknown
  on(event: 'close', listener: (this: ClosingResponse) => void): unknown
}

const CLOSING: unique symbol = Symbol('@scanner/circuit-breaker.closing') as never

// A response closed before it ended is a client that went away: 499, not a failure.
const endState = (res: ClosingResponse, state: RequestState | null | undefined): void => {
  state?.call?.end(res.writableEnded ? res.statusCode : 499, state.error)
}

function endCall(this: ClosingResponse): void {
  endState(this, (this as ClosingResponse & { [CLOSING]?: RequestState })[CLOSING])
}

function endCallOfRequest(this: ClosingResponse): void {
  endState(this, (this.req as Partial<Holder> | undefined)?.[STATE])
}

/**
 * Reports the request's breaker call when its Node response closes (sent, or abandoned by the
 * client). One shared listener finds the state: no closure per request. Where the state is kept
 * on Node's own request (Express), the listener reads it through `res.req`, and the response gets
 * no property of ours: adding one to Express's response (whose prototype Express swaps on every
 * request) measured 2.5-6 % of a whole request. Elsewhere (Fastify keeps the state on its own
 * request object) the state is put on the response.
 */
export function endOnClose(res: ClosingResponse, state: RequestState): void {
  if (state.call === undefined) return
  if ((res.req as Partial<Holder> | undefined)?.[STATE] === state) {
    res.on('close', endCallOfRequest)
    return
  }
  ;(res as ClosingResponse & { [CLOSING]?: RequestState })[CLOSING] = state
  res.on('close', endCall)
}

/** Node's request, as far as the body timing needs it. */
export interface BodyRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly readableEnded: boolean
  once(event: 'end', listener: (this: BodyRequest) => void): unknown
}

const BODY_CALL: unique symbol = Symbol('@scanner/circuit-breaker.body-call') as never

function startOnBody(this: BodyRequest): void {
  ;(this as BodyRequest & { [BODY_CALL]?: BreakerCall })[BODY_CALL]?.startClock()
}

/**
 * Whether the request has a body that was not read yet: its slow-call clock then starts when the
 * body was read to its end (by a body parser, or the handler), not at admission. Node parses a
 * request's headers before its body, so `req.complete` is still false here even for a GET: the
 * headers tell (as `type-is`'s `hasBody`).
 */
function bodyPending(req: BodyRequest): boolean {
  const h = req.headers as BodyRequest['headers'] | undefined
  if (h === undefined) return false
  // The headers first: most requests (GET) have no body, and `readableEnded` is a getter.
  const length = h['content-length']
  if (h['transfer-encoding'] === undefined && (length === undefined || length === '0')) return false
  return !req.readableEnded && typeof req.once === 'function'
}

const MAX_LOGGED = 200
const MAX_TIMER = 2_147_483_647

const truncate = (text: string): string =>
  text.length > MAX_LOGGED ? `${text.slice(0, MAX_LOGGED)}…` : text

/** A short reason for a client error's log line: its code or message, truncated. */
function reasonOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return truncate(String(error))
  const { code, message } = error as { code?: unknown; message?: unknown }
  const text = typeof message === 'string' ? message : ''
  return truncate(typeof code === 'string' ? `${code}: ${text}` : text)
}

function pathOf(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/** The framework-agnostic request handling behind every adapter. */
export interface HttpGuard {
  readonly header: string
  readonly enabled: boolean
  /** State of a request, created (with its request ID) on first call. */
  state(holder: object, incoming: unknown, frameworkId?: unknown): RequestState
  /** Existing state of a request, if any. */
  peek(holder: object): RequestState | undefined
  /**
   * Admits the request through its route breaker; returns the 503 to send when refused
   * (the handler must then not run), or undefined after storing the call in `state`. With
   * Node's request (`body`), a body still to be received keeps the slow-call clock stopped until
   * it was read to its end: a slow upload is the client's time, not the dependency's. With Node's
   * response (`res`) too, such a body gets `bodyTimeoutMs` to arrive, or a 408 on `res`.
   */
  admit(
    state: RequestState,
    info: RequestInfo,
    body?: BodyRequest,
    res?: DeadlineResponse,
  ): SendableResponse | undefined
  /** Builds and logs (one short `info` line) the 404 problem+json of an unmatched route. */
  notFound(state: RequestState, info: RequestInfo): SendableResponse
  /** Builds and logs the response of an unhandled error. */
  error(
    error: unknown,
    state: RequestState,
    info: RequestInfo,
    clientSafe?: boolean,
  ): SendableResponse
}

/**
 * Creates the request handling shared by the adapters: request IDs, breaker admission and
 * error responses.
 */
export function createHttpGuard(
  registry: BreakerRegistry,
  options: HttpBreakerOptions = {},
): HttpGuard {
  if (typeof registry !== 'object' || registry === null || typeof registry.get !== 'function') {
    throw invalidOption('registry', 'a BreakerRegistry from createBreakerRegistry()', registry)
  }
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object', options)
  }
  const d = defaultHttpBreakerOptions
  const log = (options.logger ?? noopLogger).child({ module: 'circuit-breaker' })
  const exposeErrors = options.exposeErrors ?? d.exposeErrors
  const header = (options.requestIdHeader ?? d.requestIdHeader).toLowerCase()
  if (typeof header !== 'string' || !/^[a-z0-9-]+$/.test(header)) {
    throw invalidOption('requestIdHeader', 'a header name', options.requestIdHeader)
  }
  const generate = options.generateRequestId ?? d.generateRequestId
  if (typeof generate !== 'function') {
    throw invalidOption('generateRequestId', 'a function', generate)
  }
  const maxLength = checkNumber(
    'maxRequestIdLength',
    options.maxRequestIdLength,
    d.maxRequestIdLength,
    {
      min: 1,
      max: 1024,
      integer: true,
    },
  )
  const retryAfter = checkNumber('retryAfter', options.retryAfter, d.retryAfter, {
    min: 0,
    integer: true,
  })
  const enabled = options.breaker ?? d.breaker
  if (typeof enabled !== 'boolean') throw invalidOption('breaker', 'a boolean', enabled)
  if (typeof exposeErrors !== 'boolean') {
    throw invalidOption('exposeErrors', 'a boolean', exposeErrors)
  }
  const bodyTimeoutMs = checkNumber(
    'bodyTimeoutMs',
    options.bodyTimeoutMs === false ? 0 : options.bodyTimeoutMs,
    d.bodyTimeoutMs,
    { min: 0, max: MAX_TIMER, integer: true },
  )

  const valid = (id: unknown): id is string =>
    typeof id === 'string' && id.length > 0 && id.length <= maxLength && SAFE_ID.test(id)

  // The body did not arrive in time: the client's fault. The call ends with 408 (ignored under
  // the default `isIgnored`), and the 408 closes the connection (Node ends the socket after it).
  const timeOut = (state: RequestState, info: RequestInfo, res: DeadlineResponse): void => {
    const error = bodyTimeoutError(bodyTimeoutMs)
    const call = state.call
    state.call = undefined
    call?.end(408, error)
    const response = guard.error(error, state, info, true)
    res.writeHead(408, {
      ...response.headers,
      'content-length': String(Buffer.byteLength(response.body)),
      connection: 'close',
    })
    res.end(response.body)
  }

  const guard: HttpGuard = {
    header,
    enabled,
    state(holder, incoming, frameworkId) {
      const h = holder as Holder
      let state = h[STATE]
      if (state == null) {
        const first = Array.isArray(incoming) ? (incoming as unknown[])[0] : incoming
        const requestId = valid(first) ? first : valid(frameworkId) ? frameworkId : generate()
        state = { requestId, key: undefined, call: undefined, error: undefined }
        h[STATE] = state
      }
      return state
    },
    peek: (holder) => (holder as Holder)[STATE] ?? undefined,
    admit(state, info, body, res) {
      if (!enabled || registry.closed || state.key !== undefined) return undefined
      const key = routeKey(info.method, info.pattern)
      state.key = key
      const pending = body !== undefined && bodyPending(body)
      const result = registry.get(key).acquire(pending)
      if (result.admitted) {
        state.call = result
        if (pending) {
          ;(body as BodyRequest & { [BODY_CALL]?: BreakerCall })[BODY_CALL] = result
          body.once('end', startOnBody)
          if (bodyTimeoutMs > 0 && res !== undefined) {
            armBodyDeadline(bodyTimeoutMs, body, res, () => {
              timeOut(state, info, res)
            })
          }
        }
        return undefined
      }
      const errorId = createErrorId()
      const retry = String(result.retryAfter)
      log.debug({ errorId, route: key, requestId: state.requestId, code: result.code }, 'rejected')
      // Hand-built JSON: this is the hot path of an open circuit. The request ID passed
      // SAFE_ID (no escaping needed); the path is escaped by JSON.stringify.
      const detail =
        result.code === 'ERR_BREAKER_OPEN'
          ? `This endpoint is temporarily unavailable. Retry in ${retry} s.`
          : 'This endpoint is at capacity. Retry shortly.'
      return {
        status: 503,
        headers: {
          'content-type': PROBLEM_CONTENT_TYPE,
          'cache-control': 'no-store',
          'retry-after': retry,
          'x-error-id': errorId,
          [header]: state.requestId,
        },
        body:
          `{"type":"${BREAKER_OPEN_TYPE}","title":"Service Unavailable","status":503,` +
          `"detail":"${detail}","instance":${JSON.stringify(pathOf(info.url))},` +
          `"errorId":"${errorId}","requestId":"${state.requestId}","retryAfter":${retry},` +
          `"code":"${result.code}"}`,
      }
    },
    error(error, state, info, clientSafe = false) {
      state.error = error
      const errorId = createErrorId()
      const status = errorStatus(error)
      const forClient =
        clientSafe && status < 500 && typeof error === 'object' && error !== null
          ? { ...error, message: (error as Error).message, expose: true }
          : error
      const response: ErrorResponse = createErrorResponse(forClient, {
        status,
        exposeErrors,
        errorId,
        requestId: state.requestId,
        instance: pathOf(info.url),
        retryAfter,
      })
      const fields = {
        errorId,
        method: info.method,
        route: state.key ?? routeKey(info.method, info.pattern),
        path: truncate(pathOf(info.url)),
        status,
        requestId: state.requestId,
      }
      // A client's error costs one short line without a stack (a flood of bad requests must not
      // flood the logs); the server's own keep `error` with the whole error.
      if (status < 500) log.info({ ...fields, reason: reasonOf(error) }, 'client error')
      else log.error({ err: error, ...fields }, 'unhandled error')
      const headers = { ...response.headers }
      if (header !== 'x-request-id') {
        delete headers['x-request-id']
        headers[header] = state.requestId
      }
      return { status, headers, body: JSON.stringify(response.body) }
    },
    notFound(state, info) {
      const error = Object.assign(new Error('No route matches this method and path'), {
        status: 404,
        expose: true,
        code: 'ERR_ROUTE_NOT_FOUND',
      })
      return guard.error(error, state, info, true)
    },
  }
  return guard
}
