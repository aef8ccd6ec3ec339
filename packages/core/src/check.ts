/** Overall or per-component health. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy'

/**
 * What a check's `run` resolves to: its status and any details worth reporting
 * (`latency_ms`, versions, counts). Keys are snake_case to match the JSON responses.
 */
export interface HealthCheckDetails {
  /**
   * The outcome. A check that resolves without a status counts as `healthy`; one that
   * throws or rejects counts as `unhealthy` with the error message.
   * @default 'healthy'
   */
  readonly status?: HealthStatus
  /** Time the check took or measured, in milliseconds. */
  readonly latency_ms?: number
  /** Human-readable reason, set when the status is not healthy. */
  readonly error?: string
  readonly [key: string]: unknown
}

/**
 * The shape of a health check shared by every `@scanner/*` package, so `@scanner/tunnel` and
 * `@scanner/circuit-breaker` can offer checks without depending on `@scanner/health`.
 *
 * @example
 * ```ts
 * const db: HealthCheck = {
 *   name: 'database',
 *   critical: true,
 *   timeoutMs: 300,
 *   async run(signal) {
 *     const started = performance.now()
 *     await pool.query('SELECT 1', { signal })
 *     return { latency_ms: performance.now() - started }
 *   },
 * }
 * ```
 */
export interface HealthCheck {
  /** Component name, used as the key in `/health/detailed/` (for example `database`). */
  readonly name: string
  /**
   * A failing critical check makes the service unhealthy (503); a non-critical one only
   * degrades it.
   * @default true
   */
  readonly critical?: boolean
  /**
   * Time limit of one run, in milliseconds.
   * @default 500 (decided by the runner)
   */
  readonly timeoutMs?: number
  /** Runs the check; must stop work when `signal` aborts. */
  run(signal: AbortSignal): Promise<HealthCheckDetails> | HealthCheckDetails
}
