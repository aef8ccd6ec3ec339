/**
 * @module @scanner/circuit-breaker/express
 */
export {}
