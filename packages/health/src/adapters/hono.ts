/**
 * @module @scanner/health/hono
 */
export {}
