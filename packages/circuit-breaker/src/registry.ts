import { EventEmitter } from 'node:events'
import { Emitter, defineMetrics, invalidOption, checkNumber, noopLogger } from '@scanner/core'
import type { Disposer, Listener, Logger } from '@scanner/core'
import CircuitBreaker from 'opossum'
import type { Registry } from 'prom-client'
import {
  BreakerError,
  BreakerOpenError,
  BreakerTimeoutError,
  fromOpossumError,
  type BreakerErrorCode,
} from './errors.js'
import {
  resolveBreakerOptions,
  type BreakerOptions,
  type ResolvedBreakerOptions,
} from './options.js'

/** State of one route's breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open'

/** A state change of one route's breaker, as delivered to `registry.on(…)` listeners. */
export interface BreakerEvent {
  /** Route key, for example `GET /api/quotes/:symbol`. */
  readonly key: string
  /** The new state. */
  readonly state: BreakerState
  /** The state before. */
  readonly previous: BreakerState
  /** Time of the change (ms since the epoch). */
  readonly at: number
  /** Set while the state was forced with `forceOpen()` / `forceClose()`. */
  readonly forced: 'open' | 'closed' | undefined
  /** When the breaker lets the next trial through (open only; ms since the epoch). */
  readonly nextAttemptAt: number | undefined
}

/** Events of a {@link BreakerRegistry}. */
export interface BreakerEvents {
  open: BreakerEvent
  'half-open': BreakerEvent
  close: BreakerEvent
}

/** Statistics of one route's breaker, from `registry.stats()` or `breaker.stats()`. */
export interface BreakerStats {
  /** Route key, for example `GET /api/quotes/:symbol`. */
  readonly key: string
  readonly state: BreakerState
  /** Set while the state is forced with `forceOpen()` / `forceClose()`. */
  readonly forced: 'open' | 'closed' | undefined
  /** Requests seen since the breaker was created or reset, rejected ones included. */
  readonly requests: number
  /** Calls that succeeded. */
  readonly successes: number
  /** Calls that ended ignored (`isIgnored`, by default 4xx): neither successes nor failures. */
  readonly ignored: number
  /** Calls that failed, timeouts included. */
  readonly failures: number
  /** Calls slower than `timeoutMs` (also counted in `failures`). */
  readonly timeouts: number
  /** Requests answered with 503 without running the handler. */
  readonly rejections: number
  /** Percentage (0-100) of failed calls in the rolling window. */
  readonly errorRate: number
  /** Calls in the rolling window. */
  readonly windowCalls: number
  /** When the breaker last opened (ms since the epoch), while open or half-open. */
  readonly openedAt: number | undefined
  /** When an open breaker lets the next trial through (ms since the epoch). */
  readonly nextAttemptAt: number | undefined
}

/** One admitted call: report its outcome exactly once with `end()`. */
export interface BreakerCall {
  readonly admitted: true
  /**
   * Reports the final HTTP status and the error the handler threw, if any. Later calls, and
   * calls after the slow-call limit fired, do nothing.
   */
  end(status: number, error?: unknown): void
  /**
   * Starts the slow-call clock of a call admitted with `acquire(true)` (for example once the
   * request body was received). Idempotent; does nothing after `end()`.
   */
  startClock(): void
}

/** A refused call: answer 503 with `Retry-After: retryAfter`. */
export interface BreakerRejection {
  readonly admitted: false
  readonly code: Extract<BreakerErrorCode, 'ERR_BREAKER_OPEN' | 'ERR_BREAKER_CAPACITY'>
  /** Whole seconds until the breaker lets a call through, at least 1. */
  readonly retryAfter: number
}

/** The breaker of one route. */
export interface RouteBreaker {
  /** Route key, for example `GET /api/quotes/:symbol`. */
  readonly key: string
  readonly state: BreakerState
  /** Settings of this route (defaults merged with its override). */
  readonly options: ResolvedBreakerOptions
  /**
   * Asks to run one call. Returns a {@link BreakerCall} to report the outcome to, or a
   * {@link BreakerRejection} when the breaker is open (or half-open with its trial running,
   * or at `capacity`). Synchronous and allocation-light: this is the middleware hot path.
   * With `deferClock`, the slow-call clock starts at `call.startClock()` instead of now.
   */
  acquire(deferClock?: boolean): BreakerCall | BreakerRejection
  /**
   * Runs `fn` through the breaker: rejects with {@link BreakerOpenError} while open and with
   * {@link BreakerTimeoutError} after `timeoutMs` (aborting `signal`), and rethrows `fn`'s
   * own errors.
   */
  run<T>(fn: (signal: AbortSignal) => T | Promise<T>): Promise<T>
  /** Whole seconds until the breaker lets a call through (1 when it already would). */
  retryAfter(now?: number): number
  stats(): BreakerStats
  /** Keeps the breaker open (every request gets 503) until `forceClose()` or `reset()`. */
  forceOpen(): void
  /** Keeps the breaker closed (failures are counted but never open it) until `reset()`. */
  forceClose(): void
  /** Back to closed, unforced, with fresh statistics. */
  reset(): void
}

/** Options of {@link createBreakerRegistry}. Breaker settings apply to every route. */
export interface BreakerRegistryOptions extends BreakerOptions {
  /**
   * Maximum number of route breakers kept; the least recently used one is shut down and
   * dropped beyond it.
   * @default 1000
   */
  readonly maxBreakers?: number
  /**
   * Per-route overrides, keyed by route key (`'GET /api/quotes/:symbol'`).
   * @default {}
   */
  readonly routes?: Readonly<Record<string, BreakerOptions>>
  /**
   * prom-client registry to register the metrics on (nothing is registered without one).
   * @default undefined
   */
  readonly metrics?: Registry
  /**
   * Logger for state changes (warn on open, info on half-open and close).
   * @default noopLogger
   */
  readonly logger?: Logger
  /**
   * Closes the registry when aborted.
   * @default undefined
   */
  readonly signal?: AbortSignal
}

/** A bounded (LRU) set of per-route breakers; see {@link createBreakerRegistry}. */
export interface BreakerRegistry {
  /** Number of route breakers currently kept. */
  readonly size: number
  /** Maximum number of route breakers kept. */
  readonly maxBreakers: number
  /** Whether `close()` was called. */
  readonly closed: boolean
  /** The route breaker for `key`, created on first use; throws after `close()`. */
  get(key: string): RouteBreaker
  /** The route breaker for `key` if it exists (does not refresh its LRU position). */
  peek(key: string): RouteBreaker | undefined
  /** Route keys currently kept, least recently used first. */
  keys(): string[]
  /** Statistics of every route, sorted by key. */
  stats(): BreakerStats[]
  /** Forces one route's breaker open, or every existing one without `key`. */
  forceOpen(key?: string): void
  /** Forces one route's breaker closed, or every existing one without `key`. */
  forceClose(key?: string): void
  /** Resets one route's breaker, or every existing one without `key`. */
  reset(key?: string): void
  /** Subscribes to state changes; returns a disposer. */
  on<K extends keyof BreakerEvents>(event: K, listener: Listener<BreakerEvents[K]>): Disposer
  /** Shuts every breaker down and clears its timers. Idempotent. */
  close(): Promise<void>
}

/** Defaults of the registry-level options. */
export const defaultRegistryOptions = Object.freeze({ maxBreakers: 1000 })

/** Key shared by every request that matched no route, per method. */
export const UNMATCHED_ROUTE = '<unmatched>'

/**
 * Builds a route key from a method and the framework's route pattern; requests that matched
 * no route share `METHOD <unmatched>`.
 *
 * @example
 * ```ts
 * routeKey('get', '/api/quotes/:symbol') // 'GET /api/quotes/:symbol'
 * routeKey('GET', undefined) // 'GET <unmatched>'
 * ```
 */
export function routeKey(method: string, pattern: string | undefined): string {
  return (
    method.toUpperCase() +
    ' ' +
    (pattern === undefined || pattern === '' ? UNMATCHED_ROUTE : pattern)
  )
}

const STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 }
const RESULTS = ['success', 'failure', 'timeout', 'rejected', 'ignored'] as const
const STATES = ['closed', 'half-open', 'open'] as const
/** Rejection reason of calls that failed by status alone (no error object is allocated). */
const STATUS_FAILURE = Object.freeze({ code: 'ERR_BREAKER_STATUS' })
const noop = (): void => undefined
/** The arguments a fire() event carries; calls admitted directly have none. */
const NO_ARGS: readonly unknown[] = Object.freeze([])
const UNPROTECTED: BreakerCall = Object.freeze({
  admitted: true as const,
  end: noop,
  startClock: noop,
})
const SUCCESS = 0
const FAILURE = 1
const IGNORED = 2

type Metrics = ReturnType<typeof createMetrics>

function createMetrics(registry: Registry | undefined) {
  return defineMetrics(registry, (m) => ({
    state: m.gauge({
      name: 'breaker_state',
      help: 'Circuit breaker state per route: 0 closed, 1 half-open, 2 open',
      labelNames: ['route'],
    }),
    calls: m.counter({
      name: 'breaker_calls_total',
      help: 'Calls per route and result (success, failure, timeout, rejected, ignored)',
      labelNames: ['route', 'result'],
    }),
    transitions: m.counter({
      name: 'breaker_transitions_total',
      help: 'State changes per route and new state',
      labelNames: ['route', 'state'],
    }),
  }))
}

interface Host {
  readonly metrics: Metrics
  readonly log: Logger
  readonly events: Emitter<BreakerEvents>
  rotation(intervalMs: number): EventEmitter
}

interface Task {
  start(): Promise<unknown>
}

class Call implements BreakerCall, Task {
  readonly admitted = true as const
  started = false
  settled = false
  controller: AbortController | undefined
  /**
   * Admitted while the breaker was closed without going through opossum's `fire()`; its
   * outcome is reported to opossum when it ends (see `Route.acquire`).
   */
  direct = false
  /** The slow-call clock waits for `startClock()`. */
  deferred = false
  /** When the call started (ms since the epoch), for the latency opossum records. */
  startedAt = 0
  /** When the slow-call limit fires (ms since the epoch); 0 without a limit. */
  deadline = 0
  /** Neighbours in the route's queue of running calls (oldest first). */
  prev: Call | undefined
  next: Call | undefined
  #route: Route
  #resolve: ((value: unknown) => void) | undefined
  #reject: ((reason: unknown) => void) | undefined

  constructor(route: Route) {
    this.#route = route
  }

  start(): Promise<unknown> {
    this.started = true
    return new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
      if (!this.deferred) this.#route.track(this)
    })
  }

  startClock(): void {
    if (!this.deferred || this.settled) return
    this.deferred = false
    this.startedAt = Date.now()
    if (this.started) this.#route.track(this, this.startedAt)
  }

  timeout(): void {
    if (this.settled) return
    this.settled = true
    const route = this.#route
    route.release(this)
    const error = new BreakerTimeoutError(route.options.timeoutMs, { key: route.key })
    route.record('timeout')
    this.controller?.abort(error)
    if (this.direct) route.reportFailure(error)
    else this.#reject?.(error)
  }

  end(status: number, error?: unknown): void {
    if (this.settled) return
    this.settled = true
    const route = this.#route
    route.untrack(this)
    route.release(this)
    let outcome: number
    try {
      const o = route.options
      outcome = o.isIgnored(status, error)
        ? IGNORED
        : o.isFailure(status, error)
          ? FAILURE
          : SUCCESS
    } catch {
      outcome = status >= 500 ? FAILURE : SUCCESS
    }
    if (outcome === IGNORED) {
      route.record('ignored')
      // Through fire() (a capacity limit, a forced-closed breaker, run()) the call must settle:
      // opossum then counts it as a success.
      if (!this.direct) this.#resolve?.(undefined)
    } else if (outcome === FAILURE) {
      route.record('failure')
      if (this.direct) route.reportFailure(error ?? STATUS_FAILURE)
      else this.#reject?.(error ?? STATUS_FAILURE)
    } else {
      route.record('success')
      if (this.direct) route.reportSuccess(this.startedAt)
      else this.#resolve?.(undefined)
    }
  }
}

function expire(route: Route): void {
  route.expire()
}

function startTask(task: Task): Promise<unknown> {
  return task.start()
}

class Route implements RouteBreaker {
  readonly key: string
  readonly options: ResolvedBreakerOptions
  #host: Host
  #cb: CircuitBreaker<[Task]>
  #forced: 'open' | 'closed' | undefined
  #published: BreakerState = 'closed'
  #openedAt: number | undefined
  #nextAttemptAt: number | undefined
  #requests = 0
  #successes = 0
  #failures = 0
  #timeouts = 0
  #rejections = 0
  // Running calls in start order. Every call of a route has the same slow-call limit, so the
  // oldest is always the first to expire: one timer per route, armed for the oldest call,
  // instead of a timer per request.
  #oldest: Call | undefined
  #newest: Call | undefined
  #timer: NodeJS.Timeout | undefined
  /** The half-open trial admitted directly, while it runs. */
  #trial: Call | undefined
  #ignored = 0
  /** Whether closed-state calls may skip fire() (no capacity limit to enforce through it). */
  readonly #direct: boolean

  constructor(key: string, options: ResolvedBreakerOptions, host: Host) {
    this.key = key
    this.options = options
    this.#direct = options.capacity >= Number.MAX_SAFE_INTEGER
    this.#host = host
    this.#cb = this.#createBreaker()
    host.metrics?.state.set({ route: key }, 0)
  }

  #createBreaker(): CircuitBreaker<[Task]> {
    const o = this.options
    const cb = new CircuitBreaker<[Task]>(startTask, {
      name: this.key,
      timeout: false,
      errorThresholdPercentage: o.errorThresholdPercentage,
      volumeThreshold: o.volumeThreshold,
      rollingCountTimeout: o.rollingCountTimeoutMs,
      rollingCountBuckets: o.rollingCountBuckets,
      resetTimeout: o.resetTimeoutMs,
      capacity: o.capacity,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: this.#host.rotation(
        Math.floor(o.rollingCountTimeoutMs / o.rollingCountBuckets),
      ),
    })
    const sync = (): void => {
      this.#sync()
    }
    cb.on('open', sync)
    cb.on('halfOpen', sync)
    cb.on('close', sync)
    return cb
  }

  get state(): BreakerState {
    if (this.#forced === 'open') return 'open'
    const cb = this.#cb
    if (cb.opened) return 'open'
    if (cb.halfOpen) return 'half-open'
    return 'closed'
  }

  #sync(): void {
    const state = this.state
    const previous = this.#published
    if (state === previous) return
    this.#published = state
    const now = Date.now()
    if (state === 'open') {
      this.#openedAt = now
      this.#nextAttemptAt = this.#forced === 'open' ? undefined : now + this.options.resetTimeoutMs
    } else {
      this.#nextAttemptAt = undefined
      if (state === 'closed') this.#openedAt = undefined
    }
    const host = this.#host
    host.metrics?.state.set({ route: this.key }, STATE_VALUE[state])
    host.metrics?.transitions.inc({ route: this.key, state })
    const event: BreakerEvent = {
      key: this.key,
      state,
      previous,
      at: now,
      forced: this.#forced,
      nextAttemptAt: this.#nextAttemptAt,
    }
    const fields = { route: this.key, previous, forced: this.#forced }
    if (state === 'open') {
      host.log.warn(
        { ...fields, nextAttemptAt: this.#nextAttemptAt, stats: this.#cb.stats },
        'circuit opened',
      )
    } else {
      host.log.info(fields, state === 'closed' ? 'circuit closed' : 'circuit half-open')
    }
    host.events.emit(state === 'closed' ? 'close' : state, event)
  }

  /** Starts the slow-call clock of a call that opossum let through. */
  track(call: Call, now: number = Date.now()): void {
    const ms = this.options.timeoutMs
    if (ms <= 0) return
    call.deadline = now + ms
    const newest = this.#newest
    call.prev = newest
    if (newest === undefined) this.#oldest = call
    else newest.next = call
    this.#newest = call
    // Armed for the oldest running call, which is not always this one (a call started from an
    // abort listener while expire() runs finds older calls queued and no timer armed).
    if (this.#timer === undefined) this.#arm((this.#oldest ?? call).deadline - now)
  }

  /** Takes a finished call out of the queue of running calls. */
  untrack(call: Call): void {
    if (call.deadline === 0) return
    const { prev, next } = call
    if (prev === undefined) this.#oldest = next
    else prev.next = next
    if (next === undefined) this.#newest = prev
    else next.prev = prev
    call.prev = call.next = undefined
    call.deadline = 0 // out of the queue: a second untrack() is a no-op
    // The timer stays armed when the queue empties (it then fires once and stops): arming and
    // clearing a timer for every request would cost more than the rest of the bookkeeping.
  }

  /** Times out every call past its deadline, then re-arms for the oldest one left. */
  expire(): void {
    this.#timer = undefined
    const now = Date.now()
    let call = this.#oldest
    while (call !== undefined && call.deadline <= now) {
      this.untrack(call)
      call.timeout()
      call = this.#oldest
    }
    if (call !== undefined && this.#timer === undefined) this.#arm(call.deadline - now)
  }

  #arm(ms: number): void {
    const timer = setTimeout(expire, Math.max(1, ms), this)
    timer.unref()
    this.#timer = timer
  }

  /** Records an outcome in the counters and metrics. */
  record(result: (typeof RESULTS)[number]): void {
    if (result === 'success') this.#successes++
    else if (result === 'rejected') this.#rejections++
    else if (result === 'ignored') this.#ignored++
    else {
      this.#failures++
      if (result === 'timeout') this.#timeouts++
    }
    this.#host.metrics?.calls.inc({ route: this.key, result })
  }

  #rejecting(): boolean {
    const forced = this.#forced
    if (forced !== undefined) return forced === 'open'
    const cb = this.#cb
    if (cb.opened) return true
    if (!cb.halfOpen) return false
    // Half-open: one trial at a time. Direct trials are tracked here (opossum's pendingClose is
    // only consumed by fire(), which a direct trial skips).
    return this.#direct ? this.#trial !== undefined : !cb.pendingClose
  }

  acquire(deferClock = false): BreakerCall | BreakerRejection {
    this.#requests++
    if (this.#rejecting()) return this.#reject('ERR_BREAKER_OPEN')
    const cb = this.#cb
    // Evicted or closed: let the request through unprotected rather than fail it.
    if (cb.isShutdown) return UNPROTECTED
    if (this.#direct && cb.enabled && this.#forced === undefined) {
      // Closed (or a half-open trial), no capacity limit: opossum would run the call at once,
      // and only its outcome matters to it. Skip fire()'s promises and timers per request and
      // report the outcome when the call ends (reportSuccess / reportFailure): the same counts
      // in opossum's window and the same decisions, made by opossum, at a fraction of the cost.
      // An ignored call reports nothing: a half-open breaker then admits the next trial.
      const call = new Call(this)
      call.direct = true
      call.started = true
      if (cb.halfOpen) this.#trial = call
      if (deferClock) call.deferred = true
      else {
        call.startedAt = Date.now()
        this.track(call, call.startedAt)
      }
      return call
    }
    const call = new Call(this)
    call.deferred = deferClock
    this.#cb.fire(call).then(noop, noop)
    if (!call.started) return this.#reject('ERR_BREAKER_CAPACITY')
    return call
  }

  /** Reports a call admitted directly (closed breaker) that succeeded, as fire() would. */
  reportSuccess(startedAt: number): void {
    const cb = this.#cb
    if (cb.isShutdown) return
    // Opossum's own listeners of these events update its window (fires, successes) and close
    // a half-open breaker on success, exactly as after a fire() that resolved.
    cb.emit('fire', NO_ARGS)
    const now = Date.now()
    cb.emit('success', undefined, startedAt === 0 ? 0 : now - startedAt)
  }

  /** Reports a call admitted directly (closed breaker) that failed: opossum decides on opening. */
  reportFailure(error: unknown): void {
    const cb = this.#cb
    if (cb.isShutdown) return
    // Opossum gets what the handler threw, as with fire(): not always an Error.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    cb.fire({ start: () => Promise.reject(error) }).then(noop, noop)
  }

  /** Forgets a settled call as the running half-open trial. */
  release(call: Call): void {
    if (this.#trial === call) this.#trial = undefined
  }

  #reject(code: BreakerRejection['code']): BreakerRejection {
    this.record('rejected')
    return {
      admitted: false,
      code,
      retryAfter: code === 'ERR_BREAKER_OPEN' ? this.retryAfter() : 1,
    }
  }

  async run<T>(fn: (signal: AbortSignal) => T | Promise<T>): Promise<T> {
    this.#requests++
    if (this.#forced === 'open') {
      this.record('rejected')
      throw new BreakerOpenError({ key: this.key, retryAfter: this.retryAfter() })
    }
    const call = new Call(this)
    const controller = new AbortController()
    call.controller = controller
    const fired = this.#cb.fire(call)
    if (!call.started) {
      this.record('rejected')
      try {
        await fired
      } catch (error) {
        throw fromOpossumError(error, { key: this.key, retryAfter: this.retryAfter() })
      }
      throw new BreakerError('ERR_BREAKER_SHUTDOWN', 'Circuit breaker shut down', { key: this.key })
    }
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined
    void (async () => {
      try {
        const value = await fn(controller.signal)
        outcome = { ok: true, value }
        call.end(200)
      } catch (error) {
        outcome = { ok: false, error }
        call.end(500, error)
      }
    })()
    try {
      await fired
    } catch (error) {
      throw fromOpossumError(error, { key: this.key })
    }
    // `fired` resolved: the call succeeded, or failed but `isFailure` let it pass.
    if (!outcome?.ok) throw outcome?.error
    return outcome.value
  }

  retryAfter(now: number = Date.now()): number {
    if (this.#forced === 'open') return Math.max(1, Math.ceil(this.options.resetTimeoutMs / 1000))
    const next = this.#nextAttemptAt
    if (next === undefined || !this.#cb.opened) return 1
    return Math.max(1, Math.ceil((next - now) / 1000))
  }

  stats(): BreakerStats {
    const window = this.#cb.stats
    const calls = window.successes + window.failures
    return {
      key: this.key,
      state: this.state,
      forced: this.#forced,
      requests: this.#requests,
      successes: this.#successes,
      ignored: this.#ignored,
      failures: this.#failures,
      timeouts: this.#timeouts,
      rejections: this.#rejections,
      errorRate: calls === 0 ? 0 : Math.round((window.failures / calls) * 10_000) / 100,
      windowCalls: calls,
      openedAt: this.#openedAt,
      nextAttemptAt: this.#nextAttemptAt,
    }
  }

  forceOpen(): void {
    this.#forced = 'open'
    if (!this.#cb.enabled) this.#cb.enable()
    this.#sync()
  }

  forceClose(): void {
    this.#forced = 'closed'
    this.#cb.close()
    this.#cb.disable()
    this.#sync()
  }

  reset(): void {
    this.#cb.shutdown()
    this.#cb = this.#createBreaker()
    this.#forced = undefined
    this.#trial = undefined
    this.#requests = this.#successes = this.#failures = this.#timeouts = this.#rejections = 0
    this.#ignored = 0
    this.#sync()
  }

  shutdown(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#cb.shutdown()
    const metrics = this.#host.metrics
    if (metrics === undefined) return
    const route = this.key
    metrics.state.remove({ route })
    for (const result of RESULTS) metrics.calls.remove({ route, result })
    for (const state of STATES) metrics.transitions.remove({ route, state })
  }
}

/**
 * Creates a bounded registry of opossum circuit breakers, one per route key
 * (`METHOD /route/:pattern`), created lazily with shared defaults and per-route overrides.
 * Breaker timers are `unref()`'d; one shared, unref'd interval per window size rotates the
 * statistics buckets; evicted breakers are shut down.
 *
 * @example
 * ```ts
 * const registry = createBreakerRegistry({
 *   resetTimeoutMs: 15_000,
 *   routes: { 'GET /api/quotes/:symbol': { timeoutMs: 2_000 } },
 *   metrics: promRegistry,
 *   logger,
 * })
 * registry.on('open', (e) => logger.warn(e, 'breaker open'))
 * ```
 */
export function createBreakerRegistry(options: BreakerRegistryOptions = {}): BreakerRegistry {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object', options)
  }
  const defaults = resolveBreakerOptions(options)
  const maxBreakers = checkNumber(
    'maxBreakers',
    options.maxBreakers,
    defaultRegistryOptions.maxBreakers,
    { min: 1, integer: true },
  )
  const overrides = new Map<string, ResolvedBreakerOptions>()
  const routes = options.routes ?? {}
  if (typeof routes !== 'object' || routes === null) {
    throw invalidOption('routes', 'an object keyed by route key', routes)
  }
  for (const [key, value] of Object.entries(routes)) {
    overrides.set(key, resolveBreakerOptions(value, defaults, `routes[${JSON.stringify(key)}].`))
  }
  const log = (options.logger ?? noopLogger).child({ module: 'circuit-breaker' })
  const events = new Emitter<BreakerEvents>((error) => {
    log.error({ err: error }, 'circuit-breaker event listener threw')
  })
  const rotations = new Map<number, { emitter: EventEmitter; timer: NodeJS.Timeout }>()
  const host: Host = {
    metrics: createMetrics(options.metrics),
    log,
    events,
    rotation(intervalMs) {
      let entry = rotations.get(intervalMs)
      if (entry === undefined) {
        const emitter = new EventEmitter()
        emitter.setMaxListeners(0)
        const timer = setInterval(() => emitter.emit('rotate'), intervalMs)
        timer.unref()
        entry = { emitter, timer }
        rotations.set(intervalMs, entry)
      }
      return entry.emitter
    },
  }
  const breakers = new Map<string, Route>()
  let closed = false

  let newest: Route | undefined
  const get = (key: string): Route => {
    if (newest?.key === key) return newest
    let route = breakers.get(key)
    if (route !== undefined) {
      // Refresh the LRU position (Map keeps insertion order).
      breakers.delete(key)
      breakers.set(key, route)
      newest = route
      return route
    }
    if (closed) {
      throw new BreakerError('ERR_BREAKER_SHUTDOWN', 'The breaker registry is closed', { key })
    }
    if (typeof key !== 'string' || key === '') {
      throw new TypeError('Route key must be a non-empty string')
    }
    route = new Route(key, overrides.get(key) ?? defaults, host)
    breakers.set(key, route)
    newest = route
    if (breakers.size > maxBreakers) {
      const oldest = breakers.keys().next().value
      if (oldest !== undefined) {
        breakers.get(oldest)?.shutdown()
        breakers.delete(oldest)
      }
    }
    return route
  }

  const each = (key: string | undefined, action: (route: Route) => void): void => {
    if (key === undefined) {
      for (const route of breakers.values()) action(route)
    } else {
      action(get(key))
    }
  }

  const registry: BreakerRegistry = {
    get size() {
      return breakers.size
    },
    maxBreakers,
    get closed() {
      return closed
    },
    get,
    peek: (key) => breakers.get(key),
    keys: () => [...breakers.keys()],
    stats: () =>
      [...breakers.values()]
        .map((route) => route.stats())
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    forceOpen: (key) => {
      each(key, (route) => {
        route.forceOpen()
      })
    },
    forceClose: (key) => {
      each(key, (route) => {
        route.forceClose()
      })
    },
    reset: (key) => {
      each(key, (route) => {
        route.reset()
      })
    },
    on: (event, listener) => events.on(event, listener),
    close: () => {
      if (!closed) {
        closed = true
        for (const route of breakers.values()) route.shutdown()
        breakers.clear()
        newest = undefined
        for (const { timer, emitter } of rotations.values()) {
          clearInterval(timer)
          emitter.removeAllListeners()
        }
        rotations.clear()
        events.clear()
        options.signal?.removeEventListener('abort', onAbort)
      }
      return Promise.resolve()
    },
  }
  const onAbort = (): void => {
    void registry.close()
  }
  if (options.signal !== undefined) {
    if (options.signal.aborted) onAbort()
    else options.signal.addEventListener('abort', onAbort, { once: true })
  }
  return registry
}
