/**
 * @module @scanner/tunnel/testing
 */
export {}
