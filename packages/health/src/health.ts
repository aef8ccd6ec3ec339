import {
  checkNumber,
  checkOneOf,
  invalidOption,
  noopLogger,
  ScannerError,
  type HealthCheck,
  type Logger,
} from '@scanner/core'
import type { Registry } from 'prom-client'
import {
  createTokenMatcher,
  isLocalRequest,
  presentedToken,
  type HeaderRecord,
} from './internal/auth.js'
import { createHealthMetrics, type HealthMetrics } from './internal/metrics.js'
import { prefersHealthJson } from './internal/negotiate.js'
import { healthJsonStatus, toHealthJsonChecks } from './internal/render.js'
import {
  CheckRunner,
  errorMessage,
  type ComponentResult,
  type RunResult,
} from './internal/runner.js'
import { SystemSampler, type SystemSnapshot } from './internal/system.js'
import { startOperator, type OperatorOptions, type OperatorServer } from './operator.js'

/** The four endpoints served under the prefix. */
export type HealthEndpoint = 'basic' | 'detailed' | 'ready' | 'live'

/** Output format: plain JSON, `application/health+json`, or chosen by the `Accept` header. */
export type HealthFormat = 'json' | 'health+json' | 'auto'

/** A framework-neutral request, as the adapters build it. */
export interface HealthRequest {
  /** HTTP method (`GET`, `HEAD`; anything else gets 405). */
  readonly method: string
  /** Path, with or without a trailing slash; a query string is ignored. */
  readonly path: string
  /** Request headers with lower-case names (Node's `IncomingHttpHeaders` fits). */
  readonly headers: HeaderRecord
  /** Address of the peer socket, used by the loopback rule of `details`. */
  readonly remoteAddress?: string | undefined
}

/** A framework-neutral response. `body` is `''` for HEAD. */
export interface HealthResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** A component of `/health/detailed/`: its status, the details its check returned, `error` on failure. */
export type HealthComponent = ComponentResult

/** The result of running every check once (or reading their cached results). */
export type HealthReport = RunResult

/** Who may see details: a token, loopback callers, or both. */
export interface DetailsAuthorization {
  /**
   * A secret that callers present as `Authorization: Bearer <token>` or
   * `X-Health-Token: <token>`; compared in constant time.
   */
  readonly token?: string
  /**
   * Also show details to loopback callers (socket on 127.0.0.0/8 or ::1, and none of the
   * headers a proxy or Cloudflare's edge adds: `CF-Ray`, `CF-Visitor`, `CDN-Loop`,
   * `X-Forwarded-*`, `Forwarded`, `Via`, `X-Real-IP`, `CF-Connecting-IP`, ...; see the README).
   * @default true
   */
  readonly loopback?: boolean
}

/** Who sees details: everyone, no one, loopback callers, token holders, or a predicate. */
export type DetailsPolicy =
  'always' | 'never' | 'loopback' | DetailsAuthorization | ((request: HealthRequest) => boolean)

/** Options of {@link createHealth}. Every field is optional. */
export interface HealthOptions {
  /**
   * Service name reported by `/health/`.
   * @default 'unknown'
   */
  readonly service?: string
  /**
   * Service version reported by `/health/` to authorized callers.
   * @default 'unknown'
   */
  readonly version?: string
  /**
   * The checks, in the `HealthCheck` shape of `@scanner/core`; names must be unique.
   * @default []
   */
  readonly checks?: readonly HealthCheck[]
  /**
   * Path prefix of the endpoints (`/health/`, `/health/detailed/`, ...). `'/'` serves them at the root.
   * @default '/health'
   */
  readonly prefix?: string
  /**
   * Time limit of each check that sets no `timeoutMs` of its own, in milliseconds.
   * @default 500
   */
  readonly timeoutMs?: number
  /**
   * Deadline of a request: it answers by then with the checks that finished and the others
   * marked timed out (fits inside the 1 s default probe timeout of Kubernetes).
   * @default 900
   */
  readonly deadlineMs?: number
  /**
   * How long a check result is reused, in milliseconds (0: only concurrent requests share a run).
   * @default 1000
   */
  readonly cacheTtlMs?: number
  /**
   * Who sees details (version, system figures, components, errors). Others get the overall status only.
   * @default 'loopback'
   */
  readonly details?: DetailsPolicy
  /**
   * Response format; `'auto'` serves `application/health+json` when the `Accept` header prefers it.
   * @default 'auto'
   */
  readonly format?: HealthFormat
  /**
   * Include CPU, memory, load average and uptime in `/health/` (for authorized callers).
   * @default true
   */
  readonly system?: boolean
  /**
   * A prom-client registry for `scanner_health_check_duration_seconds`,
   * `scanner_health_check_status` and `scanner_health_requests_total`.
   * @default undefined (no metrics)
   */
  readonly metrics?: Registry
  /**
   * Logger (pino-compatible); check status changes are logged at warn/info.
   * @default noopLogger
   */
  readonly logger?: Logger
}

/** A route served by a health instance, for adapters. */
export interface HealthRoute {
  readonly endpoint: HealthEndpoint
  /** Full path without trailing slash (`/health`, `/health/detailed`, ...; `/` at the root). */
  readonly path: string
  /** Path below the prefix: `''`, `'/detailed'`, `'/ready'`, `'/live'`. */
  readonly suffix: string
}

/** A health instance; see {@link createHealth}. */
export interface Health {
  /** The normalised prefix (`'/health'`; `''` at the root). */
  readonly prefix: string
  /** The four routes, for adapters. */
  readonly routes: readonly HealthRoute[]
  /** True after {@link Health.drain} or {@link Health.close}. */
  readonly draining: boolean
  /** Answers one request; never rejects. */
  handle(request: HealthRequest): Promise<HealthResponse>
  /**
   * Like {@link Health.handle}, but answers synchronously when no check has to run (liveness,
   * draining, 404/405, results still cached), so adapters skip a promise on the probe hot
   * path. Never throws; a returned promise never rejects.
   */
  respond(request: HealthRequest): HealthResponse | Promise<HealthResponse>
  /** Answers a Fetch API request (Hono, Bun, Deno, workers). */
  fetch(request: Request, info?: { readonly remoteAddress?: string | undefined }): Promise<Response>
  /** Runs the checks (or reuses cached results) and returns the report. */
  run(): Promise<HealthReport>
  /** Flips readiness to 503 `{"status":"draining"}` for a graceful shutdown; liveness stays 200. */
  drain(): void
  /**
   * Serves the operator endpoints on their own `node:http` listener (default `127.0.0.1`, no
   * framework): the health endpoints with details shown to every caller of that port,
   * `/metrics` from `options.metrics`, and `options.routes`. Resolves once it listens; rejects
   * with a `TypeError` (`ERR_SCANNER_INVALID_OPTION`) for a bad option, `ERR_HEALTH_OPERATOR_LISTEN`
   * when the port cannot be bound, `ERR_HEALTH_CLOSED` after {@link Health.close}.
   *
   * @example
   * ```ts
   * const operator = await health.listenOperator({ port: 9464, metrics: registry })
   * // curl http://127.0.0.1:9464/health/detailed/ and /metrics; closed by health.close()
   * ```
   */
  listenOperator(options?: OperatorOptions): Promise<OperatorServer>
  /** Drains, aborts running checks, forgets cached results, closes the operator ports. Idempotent. */
  close(): Promise<void>
}

const DEFAULTS = {
  service: 'unknown',
  version: 'unknown',
  prefix: '/health',
  timeoutMs: 500,
  deadlineMs: 900,
  cacheTtlMs: 1000,
  details: 'loopback',
  format: 'auto',
  system: true,
} as const satisfies HealthOptions

const JSON_TYPE = 'application/json; charset=utf-8'
const HEALTH_JSON_TYPE = 'application/health+json; charset=utf-8'
// A fresh headers object per response (some servers, @hono/node-server, add to it), built as a
// literal: V8 creates one several times faster than it copies a frozen template with a spread.
// `content-length` is the length of the GET body, HEAD included (RFC 9110 §9.3.2), so every
// framework sends one (Express's writeHead().end() would otherwise go chunked).
const jsonHeaders = (length: number): Record<string, string> => ({
  'content-type': JSON_TYPE,
  'cache-control': 'no-store',
  'content-length': String(length),
})
const healthJsonHeaders = (length: number): Record<string, string> => ({
  'content-type': HEALTH_JSON_TYPE,
  'cache-control': 'no-store',
  'content-length': String(length),
})
const notAllowedHeaders = (length: number): Record<string, string> => ({
  'content-type': JSON_TYPE,
  'cache-control': 'no-store',
  'content-length': String(length),
  allow: 'GET, HEAD',
})
/** A response whose headers carry the body's length; HEAD keeps the length, not the body. */
const jsonResponse = (status: number, body: string, head = false): HealthResponse => ({
  status,
  headers: jsonHeaders(Buffer.byteLength(body)),
  body: head ? '' : body,
})
const ALIVE_BODY = '{"status":"alive"}'
const NOT_FOUND_BODY = '{"status":"not_found"}'
const NOT_ALLOWED_BODY = '{"status":"method_not_allowed"}'
const READY_BODY = '{"status":"ready"}'
const PASS_BODY = '{"status":"pass"}'
const DRAINING_BODY = '{"status":"draining"}'
const DRAINING_HEALTH_JSON_BODY = '{"status":"fail","output":"draining"}'
const SUFFIXES: readonly (readonly [HealthEndpoint, string])[] = [
  ['basic', ''],
  ['detailed', '/detailed'],
  ['ready', '/ready'],
  ['live', '/live'],
]

/**
 * A lazy, read-only header record over Fetch API `Headers`: a header is looked up only when
 * read (iterating `Headers` is costly and most requests read one or two of them).
 *
 * @example
 * ```ts
 * health.handle({ method: req.method, path, headers: fetchHeaders(req.headers) })
 * ```
 */
export function fetchHeaders(headers: Headers): Readonly<Record<string, string | undefined>> {
  return new Proxy(
    {},
    {
      get: (_target, name) =>
        typeof name === 'string' ? (headers.get(name) ?? undefined) : undefined,
      has: (_target, name) => typeof name === 'string' && headers.has(name),
      ownKeys: () => [...headers.keys()],
      getOwnPropertyDescriptor: (_target, name) => {
        if (typeof name !== 'string' || !headers.has(name)) return undefined
        return { value: headers.get(name), enumerable: true, configurable: true, writable: false }
      },
    },
  )
}

/** Converts a {@link HealthResponse} into a Fetch API `Response`. */
export function toResponse(response: HealthResponse): Response {
  return new Response(response.body === '' ? null : response.body, {
    status: response.status,
    headers: response.headers,
  })
}

function checkString(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value === '')
    throw invalidOption(option, 'a non-empty string', value)
  return value
}

function normalisePrefix(value: unknown): string {
  if (value === undefined) return DEFAULTS.prefix
  if (typeof value !== 'string' || !value.startsWith('/') || /[?#\s]/.test(value)) {
    throw invalidOption('prefix', 'a path starting with "/"', value)
  }
  return value.replace(/\/+$/, '')
}

function checkChecks(value: unknown): readonly HealthCheck[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalidOption('checks', 'an array of health checks', value)
  const names = new Set<string>()
  value.forEach((check: unknown, i) => {
    if (typeof check !== 'object' || check === null) {
      throw invalidOption(`checks[${i}]`, 'a health check object', check)
    }
    const c = check as Partial<HealthCheck>
    if (typeof c.name !== 'string' || c.name === '') {
      throw invalidOption(`checks[${i}].name`, 'a non-empty string', c.name)
    }
    if (names.has(c.name)) throw invalidOption(`checks[${i}].name`, 'a unique name', c.name)
    names.add(c.name)
    if (typeof c.run !== 'function') throw invalidOption(`checks[${i}].run`, 'a function', c.run)
    if (c.critical !== undefined && typeof c.critical !== 'boolean') {
      throw invalidOption(`checks[${i}].critical`, 'a boolean', c.critical)
    }
    if (c.timeoutMs !== undefined) {
      checkNumber(`checks[${i}].timeoutMs`, c.timeoutMs, 0, { min: 1, max: 600_000 })
    }
  })
  return [...(value as HealthCheck[])]
}

function checkLogger(value: unknown): Logger {
  if (value === undefined) return noopLogger
  const l = value as Partial<Logger> | null | undefined
  if (
    typeof l !== 'object' ||
    l === null ||
    typeof l.warn !== 'function' ||
    typeof l.info !== 'function'
  ) {
    throw invalidOption('logger', 'a pino-compatible logger', value)
  }
  return typeof l.child === 'function' ? l.child({ module: 'health' }) : (l as Logger)
}

function createAuthorizer(value: unknown): (request: HealthRequest) => boolean {
  const policy = value ?? DEFAULTS.details
  if (policy === 'always') return () => true
  if (policy === 'never') return () => false
  if (policy === 'loopback') return (r) => isLocalRequest(r.remoteAddress, r.headers)
  if (typeof policy === 'function') {
    const predicate = policy as (request: HealthRequest) => unknown
    return (r) => {
      try {
        return predicate(r) === true
      } catch {
        return false
      }
    }
  }
  if (typeof policy === 'object' && policy !== null && !Array.isArray(policy)) {
    const { token, loopback = true } = policy as DetailsAuthorization
    if (token !== undefined && (typeof token !== 'string' || token === '')) {
      throw invalidOption('details.token', 'a non-empty string', token, false)
    }
    if (typeof loopback !== 'boolean')
      throw invalidOption('details.loopback', 'a boolean', loopback)
    const matches = token === undefined ? () => false : createTokenMatcher(token)
    return (r) =>
      (loopback && isLocalRequest(r.remoteAddress, r.headers)) || matches(presentedToken(r.headers))
  }
  // A string here may be a token passed in the wrong place (`details: process.env.TOKEN`):
  // never echoed.
  throw invalidOption(
    'details',
    '"always", "never", "loopback", { token, loopback } or a function',
    policy,
    typeof policy !== 'string',
  )
}

/**
 * Creates the framework-agnostic health core: the four endpoints (`/health/`,
 * `/health/detailed/`, `/health/ready/`, `/health/live/`), check runs with per-check timeouts,
 * a request deadline, a result cache shared by concurrent requests, details authorization and
 * draining. Mount it with an adapter (`@scanner/health/express`, `/fastify`, `/hono`) or call
 * {@link Health.handle} / {@link Health.fetch} yourself.
 *
 * @example
 * ```ts
 * const health = createHealth({
 *   service: 'scanner-api',
 *   version: '1.4.0',
 *   checks: [databaseCheck({ ping: (signal) => pool.query('SELECT 1', { signal }) }), systemCheck()],
 *   details: { token: process.env.HEALTH_TOKEN },
 * })
 * const res = await health.handle({ method: 'GET', path: '/health/ready/', headers: {} })
 * // res.status === 200, res.body === '{"status":"ready"}'
 * ```
 */
export function createHealth(options: HealthOptions = {}): Health {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object', options)
  }
  const service = checkString('service', options.service, DEFAULTS.service)
  const version = checkString('version', options.version, DEFAULTS.version)
  const prefix = normalisePrefix(options.prefix)
  const checks = checkChecks(options.checks)
  const timeoutMs = checkNumber('timeoutMs', options.timeoutMs, DEFAULTS.timeoutMs, {
    min: 1,
    max: 600_000,
  })
  const deadlineMs = checkNumber('deadlineMs', options.deadlineMs, DEFAULTS.deadlineMs, {
    min: 1,
    max: 600_000,
  })
  const cacheTtlMs = checkNumber('cacheTtlMs', options.cacheTtlMs, DEFAULTS.cacheTtlMs, {
    min: 0,
    max: 86_400_000,
  })
  const format = checkOneOf(
    'format',
    options.format,
    ['json', 'health+json', 'auto'],
    DEFAULTS.format,
  )
  if (options.system !== undefined && typeof options.system !== 'boolean') {
    throw invalidOption('system', 'a boolean', options.system)
  }
  const includeSystem = options.system ?? DEFAULTS.system
  const authorized = createAuthorizer(options.details)
  const logger = checkLogger(options.logger)
  const metrics: HealthMetrics | undefined = createHealthMetrics(options.metrics)
  const runner = new CheckRunner({
    checks,
    defaultTimeoutMs: timeoutMs,
    deadlineMs,
    cacheTtlMs,
    logger,
    metrics,
  })
  let sampler: SystemSampler | undefined
  let draining = false
  let closed = false

  const routes: readonly HealthRoute[] = Object.freeze(
    SUFFIXES.map(([endpoint, suffix]) =>
      Object.freeze({ endpoint, suffix, path: prefix + suffix === '' ? '/' : prefix + suffix }),
    ),
  )
  const byPath = new Map<string, HealthEndpoint>(routes.map((r) => [r.path, r.endpoint]))

  const match = (path: string): HealthEndpoint | undefined => {
    // The adapters pass the route's own path: found at once, with nothing to strip.
    const exact = byPath.get(path)
    if (exact !== undefined) return exact
    let p = path
    const q = p.indexOf('?')
    if (q !== -1) p = p.slice(0, q)
    if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1)
    return byPath.get(p)
  }

  const serviceJson = JSON.stringify(service)
  const versionJson = JSON.stringify(version)
  // The JSON of the last system snapshot (a snapshot is re-read once per second).
  let systemFor: SystemSnapshot | undefined
  let systemJson = ''
  const systemText = (): string => {
    const snapshot = (sampler ??= new SystemSampler()).snapshot()
    if (systemFor !== snapshot) {
      systemJson = JSON.stringify(snapshot)
      systemFor = snapshot
    }
    return systemJson
  }

  // The `/health/detailed/` body of the last results (see answer()).
  let detailedFor: RunResult | undefined
  let detailedBody = ''
  let detailedLength = 0

  const run = (): Promise<HealthReport> => runner.run()

  const reply = (
    status: number,
    healthJson: boolean,
    head: boolean,
    body: object | string,
  ): HealthResponse => {
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    const length = Buffer.byteLength(text)
    return {
      status,
      headers: healthJson ? healthJsonHeaders(length) : jsonHeaders(length),
      body: head ? '' : text,
    }
  }

  // The answers that need no check result: liveness, and readiness while draining.
  const immediate = (
    endpoint: HealthEndpoint,
    healthJson: boolean,
    head: boolean,
  ): HealthResponse | undefined => {
    if (endpoint === 'live') {
      return reply(200, healthJson, head, healthJson ? PASS_BODY : ALIVE_BODY)
    }
    if (endpoint === 'ready' && draining) {
      return reply(503, healthJson, head, healthJson ? DRAINING_HEALTH_JSON_BODY : DRAINING_BODY)
    }
    return undefined
  }

  // The answers built from the check results.
  const answer = (
    endpoint: HealthEndpoint,
    request: HealthRequest,
    head: boolean,
    healthJson: boolean,
    result: RunResult,
    trusted: boolean,
  ): HealthResponse => {
    if (endpoint === 'ready') {
      if (result.status === 'unhealthy') {
        return reply(
          503,
          healthJson,
          head,
          healthJson
            ? { status: 'fail', output: `not ready: ${result.failing.join(', ')}` }
            : { status: 'not_ready', failing: result.failing },
        )
      }
      return reply(200, healthJson, head, healthJson ? PASS_BODY : READY_BODY)
    }
    const code = result.status === 'unhealthy' ? 503 : 200
    const showDetails = trusted || authorized(request)
    const stamp = result.timestamp
    if (endpoint === 'basic') {
      if (healthJson) {
        return reply(code, true, head, {
          status: healthJsonStatus(result.status),
          serviceId: service,
          ...(showDetails ? { releaseId: version } : {}),
        })
      }
      // Same text as JSON.stringify({ status, timestamp, service, version?, system? }), built
      // from parts serialised once (the system figures are re-read once per second).
      let details = ''
      if (showDetails) {
        details = `,"version":${versionJson}`
        if (includeSystem) details += `,"system":${systemText()}`
      }
      return reply(
        code,
        false,
        head,
        `{"status":"${result.status}","timestamp":"${stamp}","service":${serviceJson}${details}}`,
      )
    }
    if (healthJson) {
      return reply(code, true, head, {
        status: healthJsonStatus(result.status),
        ...(showDetails
          ? {
              serviceId: service,
              releaseId: version,
              checks: toHealthJsonChecks(result.components, stamp),
            }
          : {}),
      })
    }
    if (!showDetails) {
      return reply(code, false, head, { status: result.status, timestamp: stamp })
    }
    // Serialised once per set of results: a probe storm on cached results sends one string.
    if (detailedFor !== result) {
      detailedBody = JSON.stringify({
        status: result.status,
        timestamp: stamp,
        components: result.components,
      })
      detailedLength = Buffer.byteLength(detailedBody)
      detailedFor = result
    }
    return { status: code, headers: jsonHeaders(detailedLength), body: head ? '' : detailedBody }
  }

  const failed = (request: HealthRequest, error: unknown): HealthResponse => {
    logger.error({ err: error, path: request.path }, 'health endpoint failed')
    return jsonResponse(503, JSON.stringify({ status: 'unhealthy', error: errorMessage(error) }))
  }

  const count = (
    endpoint: HealthEndpoint | undefined,
    response: HealthResponse,
  ): HealthResponse => {
    metrics?.requests.inc({ endpoint: endpoint ?? 'unknown', code: response.status })
    return response
  }

  const respondAs = (
    request: HealthRequest,
    trusted: boolean,
  ): HealthResponse | Promise<HealthResponse> => {
    let endpoint: HealthEndpoint | undefined
    try {
      endpoint = match(request.path)
      // Node and the frameworks give the method in upper case; anything else is normalised.
      let method = request.method
      if (method !== 'GET' && method !== 'HEAD') method = method.toUpperCase()
      if (endpoint === undefined) {
        return count(endpoint, jsonResponse(404, NOT_FOUND_BODY))
      }
      if (method !== 'GET' && method !== 'HEAD') {
        return count(endpoint, {
          status: 405,
          headers: notAllowedHeaders(NOT_ALLOWED_BODY.length),
          body: NOT_ALLOWED_BODY,
        })
      }
      const head = method === 'HEAD'
      const healthJson =
        format === 'health+json' || (format === 'auto' && prefersHealthJson(request.headers))
      const immediateAnswer = immediate(endpoint, healthJson, head)
      if (immediateAnswer !== undefined) return count(endpoint, immediateAnswer)
      const cached = runner.cached()
      if (cached !== undefined) {
        return count(endpoint, answer(endpoint, request, head, healthJson, cached, trusted))
      }
      const known = endpoint
      return runner.run().then(
        (fresh) => {
          try {
            return count(known, answer(known, request, head, healthJson, fresh, trusted))
          } catch (error) {
            return count(known, failed(request, error))
          }
        },
        (error: unknown) => count(known, failed(request, error)),
      )
    } catch (error) {
      return count(endpoint, failed(request, error))
    }
  }

  const respond = (request: HealthRequest): HealthResponse | Promise<HealthResponse> =>
    respondAs(request, false)

  const operators = new Set<OperatorServer>()
  const operatorHost = {
    paths: routes.map((r) => r.path),
    respondTrusted: (request: HealthRequest) => respondAs(request, true),
    logger,
  }

  const handle = (request: HealthRequest): Promise<HealthResponse> =>
    Promise.resolve(respond(request))

  return {
    prefix,
    routes,
    get draining() {
      return draining
    },
    handle,
    respond,
    async fetch(request, info) {
      const url = new URL(request.url)
      return toResponse(
        await handle({
          method: request.method,
          path: url.pathname,
          headers: fetchHeaders(request.headers),
          remoteAddress: info?.remoteAddress,
        }),
      )
    },
    run,
    drain() {
      if (!draining) logger.info({}, 'health draining: readiness now answers 503')
      draining = true
    },
    async listenOperator(operatorOptions = {}) {
      if (closed) throw new ScannerError('ERR_HEALTH_CLOSED', 'the health instance is closed')
      const operator = await startOperator(operatorHost, operatorOptions)
      if (closed) {
        await operator.close()
        throw new ScannerError('ERR_HEALTH_CLOSED', 'the health instance is closed')
      }
      operators.add(operator)
      return operator
    },
    async close() {
      draining = true
      if (!closed) {
        closed = true
        runner.close()
      }
      await Promise.all([...operators].map((operator) => operator.close()))
    },
  }
}
