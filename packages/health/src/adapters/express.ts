/**
 * @module @scanner/health/express
 */
export {}
