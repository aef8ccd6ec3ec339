import type { HealthCheck, HealthCheckDetails, HealthStatus, Logger } from '@scanner/core'
import type { HealthMetrics } from './metrics.js'

/** One component of a report: its status, its details, and `error` when it failed. */
export interface ComponentResult {
  readonly status: HealthStatus
  readonly error?: string
  readonly [key: string]: unknown
}

/**
 * The result of running every check once (or reading their cached results): what the runner
 * hands back, and what `health.run()` returns as `HealthReport`.
 */
export interface RunResult {
  /** Overall status: critical checks decide `unhealthy`, the others can only degrade. */
  readonly status: HealthStatus
  /**
   * When the check results were gathered, ISO 8601. An answer from cached results carries the
   * time of those results (at most `cacheTtlMs` old), not the time of the request.
   */
  readonly timestamp: string
  /** One entry per check, keyed by check name. */
  readonly components: Readonly<Record<string, ComponentResult>>
  /** Names of the critical checks that are unhealthy (or timed out). */
  readonly failing: readonly string[]
}

interface Entry {
  readonly promise: Promise<ComponentResult>
  readonly controller: AbortController
  result: ComponentResult | undefined
  settledAt: number
}

interface RunnerOptions {
  readonly checks: readonly HealthCheck[]
  readonly defaultTimeoutMs: number
  readonly deadlineMs: number
  readonly cacheTtlMs: number
  readonly logger: Logger
  readonly metrics: HealthMetrics | undefined
}

// Cache ages are measured on the monotonic clock: a wall-clock step (NTP, a VM resumed) must not
// keep stale results fresh, nor expire them early.
const monotonicNow = (): number => performance.now()

const STATUSES: readonly string[] = ['healthy', 'degraded', 'unhealthy']
const MAX_ERROR_LENGTH = 300

/** Turns anything thrown into a short, single-line message. */
export function errorMessage(error: unknown): string {
  let message: string
  if (error instanceof Error) {
    message = error.message === '' ? error.name : error.message
  } else if (typeof error === 'string') {
    message = error
  } else {
    try {
      message = JSON.stringify(error) ?? String(error)
    } catch {
      message = Object.prototype.toString.call(error)
    }
  }
  message = message.replace(/\s+/g, ' ').trim()
  if (message === '') message = 'check failed'
  return message.length > MAX_ERROR_LENGTH ? message.slice(0, MAX_ERROR_LENGTH) + '…' : message
}

/** Copies the JSON-safe part of a check's details (functions dropped, bigint stringified). */
function sanitizeValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number' && !Number.isFinite(value)) return null
  try {
    const text = JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    )
    return text === undefined ? undefined : (JSON.parse(text) as unknown)
  } catch {
    return '[unserializable]'
  }
}

/** Validates what a check resolved to and builds its component. */
export function toComponent(value: unknown): ComponentResult {
  if (value === undefined || value === null) return { status: 'healthy' }
  if (typeof value !== 'object' || Array.isArray(value)) {
    return {
      status: 'unhealthy',
      error: `check returned an invalid result (${Array.isArray(value) ? 'an array' : typeof value}); expected an object`,
    }
  }
  const details = value as HealthCheckDetails
  let status: unknown
  try {
    status = details.status ?? 'healthy'
  } catch (error) {
    return { status: 'unhealthy', error: errorMessage(error) }
  }
  if (typeof status !== 'string' || !STATUSES.includes(status)) {
    return {
      status: 'unhealthy',
      error: 'check returned an invalid status; expected healthy, degraded or unhealthy',
    }
  }
  const component: Record<string, unknown> = { status }
  let keys: string[]
  try {
    keys = Object.keys(details)
  } catch (error) {
    return { status: 'unhealthy', error: errorMessage(error) }
  }
  for (const key of keys) {
    if (key === 'status') continue
    let raw: unknown
    try {
      raw = details[key]
    } catch {
      continue
    }
    if (typeof raw === 'function' || typeof raw === 'symbol' || raw === undefined) continue
    const safe = sanitizeValue(raw)
    if (safe !== undefined) component[key] = safe
  }
  if (status !== 'healthy' && typeof component.error !== 'string') {
    component.error = component.error === undefined ? `check reported ${status}` : 'check failed'
  }
  if (typeof component.error === 'string') component.error = errorMessage(component.error)
  return component as ComponentResult
}

function worst(a: HealthStatus, b: HealthStatus): HealthStatus {
  return STATUSES.indexOf(a) >= STATUSES.indexOf(b) ? a : b
}

/** Runs checks with per-check timeouts, a request deadline, a result cache and coalescing. */
export class CheckRunner {
  readonly #checks: readonly HealthCheck[]
  readonly #options: RunnerOptions
  readonly #entries = new Map<string, Entry>()
  readonly #lastStatus = new Map<string, HealthStatus>()
  #closed = false
  /**
   * The last complete result, forgotten by the #expiry timer when the oldest of its check
   * results expires. Reading it costs no clock read, which measured a sizeable part of a probe's
   * cost. Timers run on the monotonic clock; an event loop blocked past the expiry can stretch
   * it by the block, for requests already read when the block ends.
   */
  #last: RunResult | undefined
  #expiry: NodeJS.Timeout | undefined
  /** The run in flight, shared by the calls that arrive meanwhile. */
  #inflight: Promise<RunResult> | undefined

  constructor(options: RunnerOptions) {
    this.#options = options
    this.#checks = options.checks
  }

  /**
   * The last result when every check's cached result is still fresh (what {@link run} would
   * return without running anything), else undefined. Synchronous: the hot path of probes.
   */
  cached(): RunResult | undefined {
    return this.#last
  }

  /**
   * Runs (or reuses) every check and answers within the deadline. Calls made while a run is in
   * flight share it: one result for all of them (one timestamp, one serialised body).
   */
  run(): Promise<RunResult> {
    // Every result comes from the cache and none changed: the same result object, so callers
    // can reuse what they derived from it (the serialised body).
    const hit = this.cached()
    if (hit !== undefined) return Promise.resolve(hit)
    this.#inflight ??= this.#gather().finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  async #gather(): Promise<RunResult> {
    const now = monotonicNow()
    const entries = this.#checks.map((check) => this.#entry(check, now))
    const pending = entries.filter((e) => e.result === undefined)
    if (pending.length > 0) {
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#options.deadlineMs)
        timer.unref()
      })
      await Promise.race([Promise.all(pending.map((e) => e.promise)), deadline])
      clearTimeout(timer)
    }
    let status: HealthStatus = 'healthy'
    const components: Record<string, ComponentResult> = {}
    const failing: string[] = []
    this.#checks.forEach((check, i) => {
      const component = entries[i]?.result ?? {
        status: 'unhealthy',
        error: `timed out: no result within the ${this.#options.deadlineMs} ms request deadline`,
      }
      components[check.name] = component
      const critical = check.critical ?? true
      if (component.status === 'unhealthy') {
        if (critical) failing.push(check.name)
        status = worst(status, critical ? 'unhealthy' : 'degraded')
      } else {
        status = worst(status, component.status)
      }
    })
    const result: RunResult = { status, timestamp: new Date().toISOString(), components, failing }
    if (!this.#closed && entries.every((entry) => entry.result !== undefined)) {
      // With no checks at all, the result is as old as this run.
      let oldest = entries.length === 0 ? monotonicNow() : Infinity
      for (const entry of entries) oldest = Math.min(oldest, entry.settledAt)
      this.#remember(result, oldest + this.#options.cacheTtlMs - monotonicNow())
    }
    return result
  }

  /** Keeps `result` as the cached one for `ms` (a timer, so it also expires without a read). */
  #remember(result: RunResult, ms: number): void {
    clearTimeout(this.#expiry)
    this.#last = undefined
    if (ms <= 0) return
    this.#last = result
    this.#expiry = setTimeout(() => {
      if (this.#last === result) this.#last = undefined
    }, ms)
    this.#expiry.unref()
  }

  #entry(check: HealthCheck, now: number): Entry {
    const existing = this.#entries.get(check.name)
    if (
      existing !== undefined &&
      (existing.result === undefined || now - existing.settledAt < this.#options.cacheTtlMs)
    ) {
      return existing
    }
    const controller = new AbortController()
    const entry: Entry = {
      controller,
      result: undefined,
      settledAt: 0,
      promise: this.#execute(check, controller).then((result) => {
        entry.result = result
        entry.settledAt = monotonicNow()
        return result
      }),
    }
    this.#entries.set(check.name, entry)
    return entry
  }

  async #execute(check: HealthCheck, controller: AbortController): Promise<ComponentResult> {
    const timeoutMs = check.timeoutMs ?? this.#options.defaultTimeoutMs
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<ComponentResult>((resolve) => {
      timer = setTimeout(() => {
        const error = `timed out after ${timeoutMs} ms`
        controller.abort(new DOMException(error, 'TimeoutError'))
        resolve({ status: 'unhealthy', error })
      }, timeoutMs)
      timer.unref()
    })
    const attempt = (async (): Promise<ComponentResult> => {
      try {
        return toComponent(await check.run(controller.signal))
      } catch (error) {
        return { status: 'unhealthy', error: errorMessage(error) }
      }
    })()
    const result = await Promise.race([attempt, timeout])
    clearTimeout(timer)
    this.#record(check, result, (performance.now() - started) / 1000)
    return result
  }

  #record(check: HealthCheck, result: ComponentResult, seconds: number): void {
    const metrics = this.#options.metrics
    if (metrics !== undefined) {
      metrics.duration.observe({ check: check.name, status: result.status }, seconds)
      for (const status of STATUSES) {
        metrics.status.set({ check: check.name, status }, status === result.status ? 1 : 0)
      }
    }
    const previous = this.#lastStatus.get(check.name)
    if (previous === result.status || this.#closed) return
    this.#lastStatus.set(check.name, result.status)
    const log = this.#options.logger
    if (result.status === 'healthy') {
      if (previous !== undefined)
        log.info({ check: check.name, previous }, 'health check recovered')
    } else {
      log.warn(
        { check: check.name, status: result.status, error: result.error, previous },
        'health check failing',
      )
    }
  }

  /** Aborts in-flight checks and forgets cached results. */
  close(): void {
    this.#closed = true
    for (const entry of this.#entries.values()) {
      if (entry.result === undefined) entry.controller.abort(new Error('health closed'))
    }
    this.#entries.clear()
    clearTimeout(this.#expiry)
    this.#last = undefined
  }
}
