import { ScannerError, isScannerError } from '@scanner/core'

/**
 * Codes of the errors thrown by `@scanner/tunnel`:
 *
 * - `ERR_TUNNEL_BIN_NOT_FOUND`: the cloudflared binary is missing or not executable.
 * - `ERR_TUNNEL_SPAWN`: the process could not be started (other spawn errors).
 * - `ERR_TUNNEL_FAILED`: the supervisor gave up (state `failed`); see `reason` and `lastLines`.
 * - `ERR_TUNNEL_STOPPED`: the supervisor was stopped (for example while waiting for readiness).
 * - `ERR_TUNNEL_READY_TIMEOUT`: `waitForReady()` timed out.
 */
export type TunnelErrorCode =
  | 'ERR_TUNNEL_BIN_NOT_FOUND'
  | 'ERR_TUNNEL_SPAWN'
  | 'ERR_TUNNEL_FAILED'
  | 'ERR_TUNNEL_STOPPED'
  | 'ERR_TUNNEL_READY_TIMEOUT'

/** Options of {@link TunnelError}. */
export interface TunnelErrorOptions {
  /** The underlying error. */
  readonly cause?: unknown
  /** Why the supervisor gave up (for `ERR_TUNNEL_FAILED`). */
  readonly reason?: string
  /** The last lines the process printed (token removed). */
  readonly lastLines?: readonly string[]
}

/**
 * The error class of `@scanner/tunnel`. Its message never contains the tunnel token.
 *
 * @example
 * ```ts
 * try {
 *   await tunnel.start()
 * } catch (error) {
 *   if (isTunnelError(error, 'ERR_TUNNEL_BIN_NOT_FOUND')) console.error(error.message)
 * }
 * ```
 */
export class TunnelError extends ScannerError<TunnelErrorCode> {
  override readonly name: string = 'TunnelError'
  /** Why the supervisor gave up (a {@link FailureReason} for `ERR_TUNNEL_FAILED`). */
  readonly reason: string | undefined
  /** The last lines of output of the supervised process (token removed). */
  readonly lastLines: readonly string[]

  constructor(code: TunnelErrorCode, message: string, options: TunnelErrorOptions = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause })
    this.reason = options.reason
    this.lastLines = options.lastLines ?? []
  }
}

/**
 * Tells whether `value` is an error of `@scanner/tunnel` (optionally with a given code). Checks
 * the brand and code, so it works across duplicate installs.
 *
 * @example
 * ```ts
 * if (isTunnelError(error, 'ERR_TUNNEL_FAILED')) console.error(error.reason, error.lastLines)
 * ```
 */
export function isTunnelError<C extends TunnelErrorCode>(
  value: unknown,
  code?: C,
): value is TunnelError & { readonly code: C } {
  if (!isScannerError(value)) return false
  const actual = value.code
  if (!actual.startsWith('ERR_TUNNEL_')) return false
  return code === undefined || actual === code
}

/** How to install cloudflared, appended to `ERR_TUNNEL_BIN_NOT_FOUND` messages. */
export const INSTALL_HINT: string =
  'Install cloudflared (https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/: ' +
  'e.g. the cloudflared .deb/.rpm from pkg.cloudflare.com, `brew install cloudflared`, or the binary from ' +
  'https://github.com/cloudflare/cloudflared/releases), then put it on PATH, set CLOUDFLARED_BIN, or pass the `bin` option.'
