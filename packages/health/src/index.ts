/**
 * @module @scanner/health
 */
export {}
