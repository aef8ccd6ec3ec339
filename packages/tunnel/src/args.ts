/** Protocol between cloudflared and Cloudflare's edge. */
export type TunnelProtocol = 'auto' | 'quic' | 'http2'

/** cloudflared log levels accepted by `--loglevel` and `--transport-loglevel`. */
export type CloudflaredLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal'

/** Input of {@link buildCloudflaredArgs}. */
export interface CloudflaredArgsInput {
  /** Named tunnel token (goes to `TUNNEL_TOKEN`, never to argv). */
  readonly token?: string | undefined
  /** Token file (`--token-file`, cloudflared 2025.4.0+). */
  readonly tokenFile?: string | undefined
  /** Quick tunnel origin (`--url`). */
  readonly url?: string | undefined
  /** Config file (`--config`). */
  readonly configFile?: string | undefined
  /** Metrics address, `host:port`. */
  readonly metrics: string
  readonly protocol: TunnelProtocol
  readonly gracePeriodMs: number
  readonly logLevel: CloudflaredLogLevel
  readonly transportLogLevel: CloudflaredLogLevel
  /** Extra arguments, placed before `run` (tunnel-level flags). */
  readonly args?: readonly string[] | undefined
}

/** argv and environment for one cloudflared start. */
export interface CloudflaredCommand {
  readonly args: string[]
  /** Environment additions (`TUNNEL_TOKEN`). Secret: never log it. */
  readonly env: Record<string, string>
}

/** Go duration for milliseconds: `30s`, `500ms`, `2m0s` style is not needed. */
export function goDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`
}

/**
 * Builds cloudflared's argv (no shell, so no quoting) and the environment for one start:
 * `tunnel --no-autoupdate --metrics <addr> --loglevel info --transport-loglevel warn
 * --grace-period 30s [--protocol p] [--config f] [args…] run [--token-file f]` for named and
 * config-file tunnels, `tunnel … --url <url>` for quick tunnels. The token is only ever put in
 * `env.TUNNEL_TOKEN`.
 *
 * @example
 * ```ts
 * const { args, env } = buildCloudflaredArgs({
 *   token, metrics: '127.0.0.1:20241', protocol: 'auto', gracePeriodMs: 30_000,
 *   logLevel: 'info', transportLogLevel: 'warn',
 * })
 * // args: ['tunnel', '--no-autoupdate', '--metrics', '127.0.0.1:20241', …, 'run']
 * ```
 */
export function buildCloudflaredArgs(input: CloudflaredArgsInput): CloudflaredCommand {
  const args = [
    'tunnel',
    '--no-autoupdate',
    '--metrics',
    input.metrics,
    '--loglevel',
    input.logLevel,
    '--transport-loglevel',
    input.transportLogLevel,
    '--grace-period',
    goDuration(input.gracePeriodMs),
  ]
  if (input.protocol !== 'auto') args.push('--protocol', input.protocol)
  if (input.configFile !== undefined) args.push('--config', input.configFile)
  if (input.args) args.push(...input.args)
  const env: Record<string, string> = {}
  if (input.url !== undefined) {
    args.push('--url', input.url)
  } else {
    args.push('run')
    if (input.tokenFile !== undefined) args.push('--token-file', input.tokenFile)
  }
  if (input.token !== undefined) env.TUNNEL_TOKEN = input.token
  return { args, env }
}

/** Flags that must not be passed through `args`, and why. */
export const FORBIDDEN_ARGS: Readonly<Record<string, string>> = Object.freeze({
  '--token': 'the token must not be on the command line (use the token or tokenFile option)',
  '--metrics': 'the supervisor chooses the metrics address itself',
  '--url': 'use the url option',
  '--config': 'use the configFile option',
  '--token-file': 'use the tokenFile option',
})

/** Returns the first forbidden flag in `args`, if any. */
export function forbiddenArg(args: readonly string[]): string | undefined {
  for (const arg of args) {
    const flag = (arg.split('=')[0] ?? arg).replace(/^-(?=[^-])/, '--')
    if (Object.hasOwn(FORBIDDEN_ARGS, flag)) return flag
  }
  return undefined
}
