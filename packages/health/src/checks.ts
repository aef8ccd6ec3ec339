import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import {
  checkNumber,
  invalidOption,
  type HealthCheck,
  type HealthCheckDetails,
} from '@scanner/core'
import { request, type Dispatcher } from 'undici'
import { errorMessage } from './internal/runner.js'
import { SystemSampler, round1 } from './internal/system.js'

function checkName(value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value === '')
    throw invalidOption('name', 'a non-empty string', value)
  return value
}

function checkCritical(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalidOption('critical', 'a boolean', value)
  return value
}

function checkTimeout(value: unknown): number | undefined {
  return value === undefined
    ? undefined
    : checkNumber('timeoutMs', value, 0, { min: 1, max: 600_000 })
}

function elapsedMs(started: number): number {
  return round1(performance.now() - started)
}

/** Options of {@link systemCheck}. */
export interface SystemCheckOptions {
  /**
   * Component name.
   * @default 'system'
   */
  readonly name?: string
  /**
   * Whether an unhealthy result makes the service unhealthy (the system check only ever degrades).
   * @default false
   */
  readonly critical?: boolean
  /**
   * Machine-wide CPU usage (percent) above which the check is degraded.
   * @default 90
   */
  readonly cpuPercent?: number
  /**
   * Memory usage (percent of total) above which the check is degraded.
   * @default 90
   */
  readonly memoryPercent?: number
  /**
   * Event-loop delay (p99 since the previous run, in milliseconds) above which the check is degraded.
   * @default 200
   */
  readonly eventLoopDelayMs?: number
  /**
   * Minimum window over which CPU usage is measured, in milliseconds.
   * @default 1000
   */
  readonly cpuIntervalMs?: number
}

/** A {@link systemCheck}: a health check plus `close()` to stop the event-loop delay monitor. */
export interface SystemCheck extends HealthCheck {
  /** Stops the event-loop delay histogram. Idempotent. */
  close(): void
}

const SYSTEM_DEFAULTS = {
  name: 'system',
  critical: false,
  cpuPercent: 90,
  memoryPercent: 90,
  eventLoopDelayMs: 200,
  cpuIntervalMs: 1000,
} as const

/**
 * A check of the machine and the process: CPU percent measured over an interval, memory
 * percent, load average and event-loop delay (p99 since the previous run). Crossing a
 * threshold degrades it; it never makes the service unhealthy unless `critical` is set.
 *
 * @example
 * ```ts
 * createHealth({ checks: [systemCheck({ cpuPercent: 95, eventLoopDelayMs: 500 })] })
 * // component: { status: 'healthy', cpu_percent: 15.2, memory_percent: 45.3, load_avg: [...], event_loop_delay_ms: 1.2 }
 * ```
 */
export function systemCheck(options: SystemCheckOptions = {}): SystemCheck {
  const name = checkName(options.name, SYSTEM_DEFAULTS.name)
  const critical = checkCritical(options.critical, SYSTEM_DEFAULTS.critical)
  const percent = { min: 0, max: 100 }
  const cpuMax = checkNumber('cpuPercent', options.cpuPercent, SYSTEM_DEFAULTS.cpuPercent, percent)
  const memMax = checkNumber(
    'memoryPercent',
    options.memoryPercent,
    SYSTEM_DEFAULTS.memoryPercent,
    percent,
  )
  const delayMax = checkNumber(
    'eventLoopDelayMs',
    options.eventLoopDelayMs,
    SYSTEM_DEFAULTS.eventLoopDelayMs,
    { min: 1, max: 600_000 },
  )
  const cpuIntervalMs = checkNumber(
    'cpuIntervalMs',
    options.cpuIntervalMs,
    SYSTEM_DEFAULTS.cpuIntervalMs,
    { min: 1, max: 3_600_000 },
  )
  const sampler = new SystemSampler(cpuIntervalMs)
  let histogram: IntervalHistogram | undefined
  let closed = false
  return {
    name,
    critical,
    run(): HealthCheckDetails {
      if (histogram === undefined && !closed) {
        // The histogram's timer is unref'd by Node; it starts with the first run.
        histogram = monitorEventLoopDelay({ resolution: 10 })
        histogram.enable()
      }
      const snapshot = sampler.snapshot()
      let delay = 0
      if (histogram !== undefined && histogram.count > 0) {
        delay = round1(histogram.percentile(99) / 1e6)
        histogram.reset()
      }
      const problems: string[] = []
      if (snapshot.cpu_percent > cpuMax) problems.push(`CPU ${snapshot.cpu_percent}% > ${cpuMax}%`)
      if (snapshot.memory_percent > memMax) {
        problems.push(`memory ${snapshot.memory_percent}% > ${memMax}%`)
      }
      if (delay > delayMax) problems.push(`event-loop delay ${delay} ms > ${delayMax} ms`)
      return {
        status: problems.length > 0 ? 'degraded' : 'healthy',
        cpu_percent: snapshot.cpu_percent,
        memory_percent: snapshot.memory_percent,
        load_avg: snapshot.load_avg,
        event_loop_delay_ms: delay,
        ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
      }
    },
    close() {
      closed = true
      histogram?.disable()
      histogram = undefined
    },
  }
}

/** Options of {@link httpCheck}. */
export interface HttpCheckOptions {
  /** URL to request (http or https). Required. */
  readonly url: string
  /**
   * Component name.
   * @default the URL's host, for example `'api.example.com'`
   */
  readonly name?: string
  /**
   * Accepted status code(s).
   * @default any status from 200 to 399
   */
  readonly expectStatus?: number | readonly number[]
  /**
   * HTTP method.
   * @default 'GET'
   */
  readonly method?: 'GET' | 'HEAD'
  /**
   * Extra request headers.
   * @default {}
   */
  readonly headers?: Readonly<Record<string, string>>
  /**
   * Whether a failure makes the service unhealthy (otherwise it degrades it).
   * @default true
   */
  readonly critical?: boolean
  /**
   * Time limit of one request, in milliseconds.
   * @default 500 (the health instance's `timeoutMs`)
   */
  readonly timeoutMs?: number
  /**
   * undici dispatcher (an `Agent` or `Pool`) to send the request with.
   * @default undici's global dispatcher
   */
  readonly dispatcher?: Dispatcher
}

/**
 * A check of an HTTP dependency with undici: healthy when the response status is expected,
 * unhealthy otherwise; reports `latency_ms` and `status_code`. Redirects are not followed.
 *
 * @example
 * ```ts
 * httpCheck({ url: 'http://127.0.0.1:8080/ping', expectStatus: 200, timeoutMs: 300 })
 * // component: { status: 'healthy', latency_ms: 3.1, status_code: 200 }
 * ```
 */
export function httpCheck(options: HttpCheckOptions): HealthCheck {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object with a url', options)
  }
  let url: URL
  try {
    url = new URL(options.url)
  } catch {
    throw invalidOption('url', 'an absolute http(s) URL', options.url)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidOption('url', 'an absolute http(s) URL', options.url)
  }
  const name = checkName(options.name, url.host)
  const critical = checkCritical(options.critical, true)
  const timeoutMs = checkTimeout(options.timeoutMs)
  const expected = options.expectStatus
  let accepts: (status: number) => boolean = (s) => s >= 200 && s < 400
  let expectation = '2xx or 3xx'
  if (expected !== undefined) {
    const list: readonly unknown[] = Array.isArray(expected) ? expected : [expected]
    if (
      list.length === 0 ||
      !list.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 100 && s <= 599)
    ) {
      throw invalidOption(
        'expectStatus',
        'an HTTP status code or a non-empty array of them',
        expected,
      )
    }
    const set = new Set(list as number[])
    accepts = (s) => set.has(s)
    expectation = [...set].join(' or ')
  }
  const method = options.method ?? 'GET'
  if (method !== 'GET' && method !== 'HEAD') {
    throw invalidOption('method', '"GET" or "HEAD"', method)
  }
  const headers = options.headers ?? {}
  if (typeof headers !== 'object' || headers === null) {
    throw invalidOption('headers', 'an object of header strings', headers)
  }
  const dispatcher = options.dispatcher
  const href = url.href
  return {
    name,
    critical,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    async run(signal) {
      const started = performance.now()
      let statusCode: number
      try {
        const response = await request(href, {
          method,
          headers,
          signal,
          ...(dispatcher === undefined ? {} : { dispatcher }),
        })
        statusCode = response.statusCode
        await response.body.dump()
      } catch (error) {
        return {
          status: 'unhealthy',
          latency_ms: elapsedMs(started),
          error: `request to ${url.host} failed: ${errorMessage(error)}`,
        }
      }
      const latency = elapsedMs(started)
      if (!accepts(statusCode)) {
        return {
          status: 'unhealthy',
          latency_ms: latency,
          status_code: statusCode,
          error: `expected status ${expectation}, got ${statusCode}`,
        }
      }
      return { status: 'healthy', latency_ms: latency, status_code: statusCode }
    },
  }
}

/** Options of {@link databaseCheck}. */
export interface DatabaseCheckOptions {
  /** Pings the database (for example `SELECT 1`); should stop when `signal` aborts. Required. */
  readonly ping: (signal: AbortSignal) => unknown
  /**
   * Component name.
   * @default 'database'
   */
  readonly name?: string
  /**
   * Whether a failure makes the service unhealthy (otherwise it degrades it).
   * @default true
   */
  readonly critical?: boolean
  /**
   * Time limit of one ping, in milliseconds.
   * @default 500 (the health instance's `timeoutMs`)
   */
  readonly timeoutMs?: number
}

/**
 * A check around a user-supplied database ping; reports `latency_ms`. A ping that throws or
 * rejects makes it unhealthy with the error message (and the time it took to fail).
 *
 * @example
 * ```ts
 * databaseCheck({ ping: (signal) => pool.query({ text: 'SELECT 1', signal }) })
 * // component: { status: 'healthy', latency_ms: 5.2 }
 * ```
 */
export function databaseCheck(options: DatabaseCheckOptions): HealthCheck {
  if (typeof options !== 'object' || options === null || typeof options.ping !== 'function') {
    throw invalidOption(
      'ping',
      'a function',
      (options as Partial<DatabaseCheckOptions> | null)?.ping,
    )
  }
  const name = checkName(options.name, 'database')
  const critical = checkCritical(options.critical, true)
  const timeoutMs = checkTimeout(options.timeoutMs)
  const ping = options.ping
  return {
    name,
    critical,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    async run(signal) {
      const started = performance.now()
      try {
        await ping(signal)
      } catch (error) {
        return { status: 'unhealthy', latency_ms: elapsedMs(started), error: errorMessage(error) }
      }
      return { status: 'healthy', latency_ms: elapsedMs(started) }
    },
  }
}
