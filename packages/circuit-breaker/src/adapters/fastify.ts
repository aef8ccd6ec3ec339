/**
 * @module @scanner/circuit-breaker/fastify
 */
export {}
