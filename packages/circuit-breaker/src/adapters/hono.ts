/**
 * @module @scanner/circuit-breaker/hono
 */
export {}
