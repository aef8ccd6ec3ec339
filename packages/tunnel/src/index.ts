/**
 * @module @scanner/tunnel
 */
export {}
