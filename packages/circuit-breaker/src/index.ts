/**
 * @module @scanner/circuit-breaker
 */
export {}
