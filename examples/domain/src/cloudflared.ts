import { resolve } from 'node:path'
import { ScannerError, type BackoffOptions } from '@scanner/core'
import { findExecutable } from '@scanner/tunnel'
import type { DeploymentConfig } from './config.js'

export { findExecutable }

/** Extra `createTunnel` options attached to a choice (the demo's simulator settings). */
export interface TunnelExtras {
  /** Extra environment of the cloudflared process. */
  readonly env?: Readonly<Record<string, string>>
  /** Restart when no connection is ready for this long, in milliseconds. */
  readonly readyTimeoutMs?: number
  /** Restart backoff (the demo's resets between its faults: `demoBackoff()`). */
  readonly backoff?: BackoffOptions
  /**
   * The simulator only: run it as a named tunnel with this (made-up) token instead of a quick
   * tunnel, so restarts of a running cloudflared are make-before-break (the demo does).
   */
  readonly token?: string
  /** Make-before-break: connections the replica registers before the old cloudflared stops. */
  readonly handover?: { readonly readyConnections: number }
}

/** Which cloudflared the example supervises, and why. */
export type TunnelChoice =
  | { readonly kind: 'off'; readonly notice: string }
  | ({ readonly kind: 'named'; readonly bin: string; readonly notice: string } & TunnelExtras)
  | ({
      readonly kind: 'quick'
      readonly bin: string
      readonly url: string
      readonly notice: string
    } & TunnelExtras)
  | ({ readonly kind: 'simulator'; readonly bin: string; readonly notice: string } & TunnelExtras)

/**
 * Chooses the tunnel at start-up: with `TUNNEL_TOKEN` and cloudflared installed
 * (`CLOUDFLARED_BIN` or `PATH`), a named tunnel; with cloudflared only, a quick tunnel to
 * `localUrl`; without cloudflared, the simulator from `@scanner/tunnel/testing`.
 * `TUNNEL=off` disables the tunnel and `TUNNEL=simulator` always picks the simulator.
 *
 * @throws {ScannerError} `ERR_EXAMPLE_CLOUDFLARED_BIN` when `CLOUDFLARED_BIN` is set but not executable.
 * @example
 * ```ts
 * const choice = chooseTunnel(config, { localUrl: 'http://127.0.0.1:8000', simulatorBin: fakeCloudflaredPath })
 * console.log(choice.notice)
 * ```
 */
export function chooseTunnel(
  config: Pick<DeploymentConfig, 'tunnel' | 'tunnelToken' | 'cloudflaredBin'>,
  context: {
    readonly localUrl: string
    readonly simulatorBin: string
    readonly env?: NodeJS.ProcessEnv
  },
): TunnelChoice {
  if (config.tunnel === 'off') return { kind: 'off', notice: 'Tunnel disabled (TUNNEL=off).' }
  const simulator = (why: string): TunnelChoice => ({
    kind: 'simulator',
    bin: context.simulatorBin,
    notice: `${why}: supervising the cloudflared simulator from @scanner/tunnel/testing, no traffic leaves this machine (simulated: no real tunnel, its URLs and edge addresses are made up).`,
  })
  if (config.tunnel === 'simulator') return simulator('TUNNEL=simulator')

  let bin: string | undefined
  if (config.cloudflaredBin !== undefined) {
    bin = findExecutable(resolve(config.cloudflaredBin), context.env)
    if (bin === undefined) {
      throw new ScannerError(
        'ERR_EXAMPLE_CLOUDFLARED_BIN',
        `CLOUDFLARED_BIN is set to "${config.cloudflaredBin}", which is not an executable file`,
      )
    }
  } else {
    bin = findExecutable('cloudflared', context.env)
  }
  if (bin === undefined) return simulator('cloudflared is not installed')
  if (config.tunnelToken !== undefined) {
    return {
      kind: 'named',
      bin,
      notice: `Running the named tunnel of TUNNEL_TOKEN with ${bin}.`,
    }
  }
  return {
    kind: 'quick',
    bin,
    url: context.localUrl,
    notice: `Running a quick tunnel (trycloudflare.com) to ${context.localUrl} with ${bin}.`,
  }
}
