/**
 * @module @scanner/health/fastify
 */
export {}
