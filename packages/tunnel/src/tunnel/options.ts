/**
 * The options of `createTunnel()`: their types, their defaults in one place, and the checks
 * that name a bad option.
 */
import {
  checkNumber,
  checkOneOf,
  invalidOption,
  noopLogger,
  resolveBackoffOptions,
} from '@scanner/core'
import type { BackoffOptions, Logger } from '@scanner/core'
import type { Registry } from 'prom-client'
import { forbiddenArg, FORBIDDEN_ARGS } from '../args.js'
import type { CloudflaredLogLevel, TunnelProtocol } from '../args.js'
import { INSTALL_HINT, TunnelError } from '../errors.js'
import {
  checkBoolean,
  checkEnv,
  checkLogger,
  checkPidFile,
  checkSignal,
  checkString,
  checkStringArray,
} from '../internal/options.js'
import { processSupervisorDefaults } from '../process-supervisor.js'
import type { RestartStrategy } from './types.js'

/** The kind of tunnel, from the options. */
export type TunnelKind = 'named' | 'quick' | 'config'

/** State of a DNS monitor (`@scanner/health`'s `DnsMonitor`). */
export type DnsMonitorState = 'unknown' | 'ok' | 'dns-failure' | 'network-down'

/**
 * The part of `@scanner/health`'s DNS monitor the tunnel uses (structural, so any object with
 * this shape works). The monitor runs its own recovery actions once per episode.
 */
export interface DnsMonitorLike {
  readonly state: DnsMonitorState
  on(
    event: 'failure' | 'network-down' | 'recovered',
    listener: (report: unknown) => void,
  ): () => void
}

/** Options of the QUIC timeout policy. */
export interface QuicTimeoutOptions {
  /**
   * Incidents within `windowMs` that trigger one restart.
   * @default 3
   */
  readonly threshold?: number
  /**
   * Sliding window, in milliseconds.
   * @default 300000
   */
  readonly windowMs?: number
}

/** Options of the switch to `--protocol http2` after repeated QUIC restarts. */
export interface ProtocolFallbackOptions {
  /**
   * QUIC restarts within `windowMs` after which the next start uses `--protocol http2`.
   * @default 2
   */
  readonly restarts?: number
  /**
   * Window, in milliseconds.
   * @default 1800000
   */
  readonly windowMs?: number
}

/**
 * Options of the recovery probe: after a `crash-loop` give-up with no DNS monitor attached, one
 * fresh start after `initialMs`, then after twice as long each time, up to `maxMs`. (With a DNS
 * monitor, a give-up resumes when the monitor reports `recovered`.)
 */
export interface RecoveryProbeOptions {
  /**
   * First probe after a give-up, in milliseconds.
   * @default 300000
   */
  readonly initialMs?: number
  /**
   * Longest interval between probes, in milliseconds.
   * @default 1800000
   */
  readonly maxMs?: number
}

/** Options of the make-before-break handover. */
export interface HandoverOptions {
  /**
   * Ready connections the new replica must report before the old one is stopped.
   * @default 1
   */
  readonly readyConnections?: number
  /**
   * Time the new replica has to become ready, in milliseconds.
   * @default 60000
   */
  readonly timeoutMs?: number
}

/** Options of {@link createTunnel}. Give one of `token`, `tokenFile`, `url` or `configFile`. */
export interface TunnelOptions {
  /**
   * The cloudflared executable: a path or a name looked up on `PATH`.
   * @default process.env.CLOUDFLARED_BIN ?? 'cloudflared'
   */
  readonly bin?: string
  /** Named tunnel token. Passed only through `TUNNEL_TOKEN`, never on the command line. */
  readonly token?: string
  /** File holding the token (`--token-file`, cloudflared 2025.4.0+). */
  readonly tokenFile?: string
  /** Quick tunnel: the local URL to expose on `*.trycloudflare.com` (`--url`). */
  readonly url?: string
  /** cloudflared config file (`--config`), for config-file tunnels. */
  readonly configFile?: string
  /**
   * Edge protocol. `auto` lets cloudflared choose (and allows the supervisor's http2 fallback).
   * @default 'auto'
   */
  readonly protocol?: TunnelProtocol
  /**
   * Extra cloudflared arguments, placed before `run` (tunnel-level flags). `--token`,
   * `--token-file`, `--metrics`, `--url` and `--config` are refused: use the options.
   * @default []
   */
  readonly args?: readonly string[]
  /**
   * Extra environment variables for cloudflared (over `process.env`).
   * @default {}
   */
  readonly env?: Readonly<Record<string, string | undefined>>
  /**
   * cloudflared's `--grace-period` and the time `stop()` waits after SIGTERM (max 3 minutes).
   * @default 30000
   */
  readonly gracePeriodMs?: number
  /**
   * Extra wait after the grace period before the process group is killed.
   * @default 5000
   */
  readonly killMarginMs?: number
  /**
   * Restart when no connection has been ready for this long (after a start, or after losing
   * all connections).
   * @default 90000
   */
  readonly readyTimeoutMs?: number
  /**
   * Interval of the `/ready` polls.
   * @default 2000
   */
  readonly readyPollIntervalMs?: number
  /**
   * Time limit of one `/ready` request.
   * @default 1000
   */
  readonly readyProbeTimeoutMs?: number
  /**
   * Restart delays (`@scanner/core` backoff: initialDelayMs 1000, factor 2, maxDelayMs 60000,
   * jitter 'equal', resetAfterMs 120000).
   * @default {}
   */
  readonly backoff?: BackoffOptions
  /**
   * Gives up (reason `crash-loop`) after this many starts in a row that exited without ever
   * becoming ready.
   * @default 5
   */
  readonly maxCrashes?: number
  /**
   * After a `crash-loop` give-up without a DNS monitor attached: start again after this long
   * (doubling, capped), in case the cause was outside cloudflared. `false` stays `failed`.
   * @default { initialMs: 300000, maxMs: 1800000 }
   */
  readonly recoveryProbe?: RecoveryProbeOptions | false
  /**
   * How a running named or config-file tunnel is restarted (QUIC timeouts, not ready, public
   * URL, DNS, `restart()`, `replace()`): `make-before-break` starts a replica and stops the old
   * cloudflared once the replica is ready; `break-before-make` stops it first. Exits and quick
   * tunnels are always break-before-make.
   * @default 'make-before-break'
   */
  readonly restartStrategy?: RestartStrategy
  /**
   * The make-before-break handover: the replica must report at least `readyConnections` ready
   * connections (`/ready`) within `timeoutMs`, or it is stopped and the supervisor falls back
   * to break-before-make.
   * @default { readyConnections: 1, timeoutMs: 60000 }
   */
  readonly handover?: HandoverOptions
  /**
   * Gives up (reason `unauthorized`) after this many `Unauthorized` answers in a row.
   * @default 3
   */
  readonly maxAuthFailures?: number
  /**
   * QUIC timeout policy; `false` disables QUIC restarts.
   * @default { threshold: 3, windowMs: 300000 }
   */
  readonly quicTimeouts?: QuicTimeoutOptions | false
  /**
   * After repeated QUIC restarts, start with `--protocol http2` (only with protocol `auto`).
   * `true` uses the defaults; `false` disables it.
   * @default { restarts: 2, windowMs: 1800000 }
   */
  readonly protocolFallback?: boolean | ProtocolFallbackOptions
  /** The local origin's URL (for example its health endpoint), probed every `probeIntervalMs`. */
  readonly localUrl?: string
  /** The public URL through the tunnel, probed every `probeIntervalMs`. */
  readonly publicUrl?: string
  /**
   * Interval of the local/public probes.
   * @default 30000
   */
  readonly probeIntervalMs?: number
  /**
   * Time limit of one probe request.
   * @default 5000
   */
  readonly probeTimeoutMs?: number
  /**
   * Public-URL failures in a row (while the origin answers) that restart the tunnel.
   * @default 3
   */
  readonly publicUrlFailures?: number
  /** DNS monitor from `@scanner/health` (`createDnsMonitor()`), or any {@link DnsMonitorLike}. */
  readonly dns?: DnsMonitorLike
  /**
   * cloudflared `--loglevel`. Do not go above `info`: the registration lines disappear.
   * @default 'info'
   */
  readonly logLevel?: CloudflaredLogLevel
  /**
   * cloudflared `--transport-loglevel`.
   * @default 'warn'
   */
  readonly transportLogLevel?: CloudflaredLogLevel
  /**
   * Pid file used to find and stop a cloudflared left over by a supervisor that died (its
   * identity is verified first). `false` disables it.
   * @default `<os.tmpdir()>/scanner-<name>-<hash>.pid` (hash of bin, mode, args and a hash of the token)
   */
  readonly pidFile?: string | false
  /**
   * On Linux, start cloudflared through `setpriv --pdeathsig SIGKILL` when available.
   * @default true
   */
  readonly pdeathsig?: boolean
  /**
   * Start a keeper next to each child: a `/bin/sh` in a session of its own that holds a pipe
   * from this process and SIGKILLs the child's whole process group (helpers and grandchildren
   * included) as soon as this process dies, however it dies. Not on Windows.
   * @default true
   */
  readonly keeper?: boolean
  /**
   * Name used in logs, metrics labels and the health check.
   * @default 'tunnel'
   */
  readonly name?: string
  /**
   * Longer output lines are cut to this many bytes (the classifier reads at most 16384
   * characters of a line anyway).
   * @default 16384
   */
  readonly maxLineLength?: number
  /**
   * Output lines kept for error reports.
   * @default 50
   */
  readonly outputLines?: number
  /**
   * Logger (pino-compatible). Supervisor events go to `child({ module: 'tunnel' })`,
   * cloudflared's output to `child({ module: 'cloudflared' })` at the mapped level.
   * @default noopLogger
   */
  readonly logger?: Logger
  /** prom-client registry for the `scanner_tunnel_*` metrics. */
  readonly metrics?: Registry
  /** Stops the tunnel when aborted. */
  readonly signal?: AbortSignal
}

/** Defaults of {@link TunnelOptions}, in one place. */
export const tunnelDefaults = Object.freeze({
  protocol: 'auto',
  gracePeriodMs: 30_000,
  killMarginMs: processSupervisorDefaults.killMarginMs,
  readyTimeoutMs: 90_000,
  readyPollIntervalMs: 2_000,
  readyProbeTimeoutMs: 1_000,
  maxCrashes: processSupervisorDefaults.maxCrashes,
  maxAuthFailures: 3,
  restartStrategy: 'make-before-break',
  handoverReadyConnections: 1,
  handoverTimeoutMs: 60_000,
  recoveryProbeInitialMs: 300_000,
  recoveryProbeMaxMs: 1_800_000,
  quicThreshold: 3,
  quicWindowMs: 5 * 60_000,
  fallbackRestarts: 2,
  fallbackWindowMs: 30 * 60_000,
  probeIntervalMs: 30_000,
  probeTimeoutMs: 5_000,
  publicUrlFailures: 3,
  logLevel: 'info',
  transportLogLevel: 'warn',
  name: 'tunnel',
  maxLineLength: processSupervisorDefaults.maxLineLength,
  outputLines: processSupervisorDefaults.outputLines,
})

/** The longest `--grace-period` cloudflared accepts (3 minutes). */
export const MAX_GRACE_MS = 180_000

export function notFoundError(bin: string): TunnelError {
  return new TunnelError(
    'ERR_TUNNEL_BIN_NOT_FOUND',
    `cloudflared not found or not executable: "${bin}". ${INSTALL_HINT}`,
  )
}

export function checkUrl(option: string, value: unknown): string | undefined {
  const url = checkString(option, value)
  if (url === undefined) return undefined
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme')
  } catch {
    throw invalidOption(option, 'an http(s) URL', url)
  }
  return url
}

export function checkDns(value: unknown): DnsMonitorLike | undefined {
  if (value === undefined) return undefined
  const dns = (typeof value === 'object' && value !== null ? value : {}) as Partial<DnsMonitorLike>
  if (typeof dns.on !== 'function') {
    throw invalidOption('dns', 'a DNS monitor (createDnsMonitor() from @scanner/health)', value)
  }
  return value as DnsMonitorLike
}

/** The options of {@link TunnelOptions}, checked, defaulted and frozen (see `resolveTunnelOptions`). */
export interface ResolvedTunnelOptions {
  readonly bin: string
  readonly token: string | undefined
  readonly tokenFile: string | undefined
  readonly url: string | undefined
  readonly configFile: string | undefined
  readonly kind: TunnelKind
  readonly protocol: TunnelProtocol
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string | undefined>>
  readonly restartStrategy: RestartStrategy
  readonly handover: { readonly readyConnections: number; readonly timeoutMs: number }
  readonly gracePeriodMs: number
  readonly killMarginMs: number
  readonly readyTimeoutMs: number
  readonly readyPollIntervalMs: number
  readonly readyProbeTimeoutMs: number
  readonly backoff: BackoffOptions
  readonly maxCrashes: number
  readonly maxAuthFailures: number
  readonly recoveryProbe: { readonly initialMs: number; readonly maxMs: number } | undefined
  readonly quicTimeouts: { readonly threshold: number; readonly windowMs: number } | undefined
  readonly protocolFallback: { readonly restarts: number; readonly windowMs: number } | undefined
  readonly localUrl: string | undefined
  readonly publicUrl: string | undefined
  readonly probeIntervalMs: number
  readonly probeTimeoutMs: number
  readonly publicUrlFailures: number
  readonly dns: DnsMonitorLike | undefined
  readonly logLevel: CloudflaredLogLevel
  readonly transportLogLevel: CloudflaredLogLevel
  readonly pdeathsig: boolean
  readonly keeper: boolean
  readonly name: string
  readonly maxLineLength: number
  readonly outputLines: number
  readonly logger: Logger
  readonly signal: AbortSignal | undefined
  readonly pidFile: string | undefined
  readonly metrics: Registry | undefined
}

/** A short digest of the token for the pid file name key (never the token itself). */
function hashToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined
  let h = 0x811c9dc5
  for (let i = 0; i < token.length; i++) {
    h ^= token.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h.toString(16)
}

/**
 * Checks every option of `createTunnel()` once and returns them with their defaults, frozen.
 * Throws a `TypeError` naming the first bad option.
 */
export function resolveTunnelOptions(options: TunnelOptions): ResolvedTunnelOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object', options)
  }
  const d = tunnelDefaults
  const bin = checkString('bin', options.bin) ?? process.env.CLOUDFLARED_BIN ?? 'cloudflared'
  const token = checkString('token', options.token, true)
  const tokenFile = checkString('tokenFile', options.tokenFile)
  const url = checkString('url', options.url)
  const configFile = checkString('configFile', options.configFile)
  if (token !== undefined && tokenFile !== undefined) {
    throw invalidOption('tokenFile', 'not both token and tokenFile', tokenFile)
  }
  if (url !== undefined && (token !== undefined || tokenFile !== undefined)) {
    throw invalidOption('url', 'no url for a named tunnel (token/tokenFile given)', url)
  }
  if (url !== undefined) {
    try {
      new URL(url)
    } catch {
      throw invalidOption('url', 'an absolute URL such as http://127.0.0.1:8080', url)
    }
  }
  if (
    token === undefined &&
    tokenFile === undefined &&
    url === undefined &&
    configFile === undefined
  ) {
    throw invalidOption(
      'token',
      'one of token, tokenFile, url (quick tunnel) or configFile',
      undefined,
    )
  }
  const kind: TunnelKind =
    url !== undefined
      ? 'quick'
      : token !== undefined || tokenFile !== undefined
        ? 'named'
        : 'config'
  const protocol = checkOneOf('protocol', options.protocol, ['auto', 'quic', 'http2'], d.protocol)
  const args = checkStringArray('args', options.args)
  const bad = forbiddenArg(args)
  if (bad !== undefined) {
    throw invalidOption('args', `no ${bad} (${FORBIDDEN_ARGS[bad] ?? 'not allowed'})`, bad)
  }
  const env = checkEnv('env', options.env)
  const restartStrategy = checkOneOf(
    'restartStrategy',
    options.restartStrategy,
    ['make-before-break', 'break-before-make'],
    d.restartStrategy,
  )
  const ho = options.handover ?? {}
  if (typeof ho !== 'object' || ho === null) {
    throw invalidOption('handover', 'an object', ho)
  }
  const handoverReady = checkNumber(
    'handover.readyConnections',
    ho.readyConnections,
    d.handoverReadyConnections,
    { min: 1, integer: true },
  )
  const handoverTimeoutMs = checkNumber('handover.timeoutMs', ho.timeoutMs, d.handoverTimeoutMs, {
    min: 1,
  })
  const gracePeriodMs = checkNumber('gracePeriodMs', options.gracePeriodMs, d.gracePeriodMs, {
    max: MAX_GRACE_MS,
  })
  const killMarginMs = checkNumber('killMarginMs', options.killMarginMs, d.killMarginMs)
  const readyTimeoutMs = checkNumber('readyTimeoutMs', options.readyTimeoutMs, d.readyTimeoutMs, {
    min: 1,
  })
  const readyPollIntervalMs = checkNumber(
    'readyPollIntervalMs',
    options.readyPollIntervalMs,
    d.readyPollIntervalMs,
    { min: 10 },
  )
  const readyProbeTimeoutMs = checkNumber(
    'readyProbeTimeoutMs',
    options.readyProbeTimeoutMs,
    d.readyProbeTimeoutMs,
    { min: 1 },
  )
  const backoffOptions = resolveBackoffOptions(options.backoff ?? {}, 'backoff.')
  const maxCrashes = checkNumber('maxCrashes', options.maxCrashes, d.maxCrashes, {
    min: 1,
    integer: true,
  })
  const maxAuthFailures = checkNumber(
    'maxAuthFailures',
    options.maxAuthFailures,
    d.maxAuthFailures,
    { min: 1, integer: true },
  )
  let recoveryProbe: ResolvedTunnelOptions['recoveryProbe']
  const rp = options.recoveryProbe ?? {}
  if (rp === false) recoveryProbe = undefined
  else {
    if (typeof rp !== 'object' || rp === null) {
      throw invalidOption('recoveryProbe', 'an object or false', rp)
    }
    const initialMs = checkNumber(
      'recoveryProbe.initialMs',
      rp.initialMs,
      d.recoveryProbeInitialMs,
      { min: 1 },
    )
    const maxMs = checkNumber('recoveryProbe.maxMs', rp.maxMs, d.recoveryProbeMaxMs, {
      min: initialMs,
    })
    recoveryProbe = { initialMs, maxMs }
  }
  let quicTimeouts: ResolvedTunnelOptions['quicTimeouts']
  if (options.quicTimeouts === false) quicTimeouts = undefined
  else {
    const q = options.quicTimeouts ?? {}
    if (typeof q !== 'object' || q === null) {
      throw invalidOption('quicTimeouts', 'an object or false', q)
    }
    quicTimeouts = {
      threshold: checkNumber('quicTimeouts.threshold', q.threshold, d.quicThreshold, {
        min: 1,
        integer: true,
      }),
      windowMs: checkNumber('quicTimeouts.windowMs', q.windowMs, d.quicWindowMs, { min: 1 }),
    }
  }
  const pf = options.protocolFallback ?? true
  let protocolFallback: ResolvedTunnelOptions['protocolFallback']
  if (pf === false) protocolFallback = undefined
  else {
    if (pf !== true && (typeof pf !== 'object' || pf === null)) {
      throw invalidOption('protocolFallback', 'a boolean or an object', pf)
    }
    const o = pf === true ? {} : pf
    protocolFallback = {
      restarts: checkNumber('protocolFallback.restarts', o.restarts, d.fallbackRestarts, {
        min: 1,
        integer: true,
      }),
      windowMs: checkNumber('protocolFallback.windowMs', o.windowMs, d.fallbackWindowMs, {
        min: 1,
      }),
    }
  }
  const localUrl = checkUrl('localUrl', options.localUrl)
  const publicUrl = checkUrl('publicUrl', options.publicUrl)
  const probeIntervalMs = checkNumber(
    'probeIntervalMs',
    options.probeIntervalMs,
    d.probeIntervalMs,
    {
      min: 10,
    },
  )
  const probeTimeoutMs = checkNumber('probeTimeoutMs', options.probeTimeoutMs, d.probeTimeoutMs, {
    min: 1,
  })
  const publicUrlFailures = checkNumber(
    'publicUrlFailures',
    options.publicUrlFailures,
    d.publicUrlFailures,
    { min: 1, integer: true },
  )
  const dns = checkDns(options.dns)
  const levels = ['debug', 'info', 'warn', 'error', 'fatal'] as const
  const logLevel = checkOneOf('logLevel', options.logLevel, levels, d.logLevel)
  const transportLogLevel = checkOneOf(
    'transportLogLevel',
    options.transportLogLevel,
    levels,
    d.transportLogLevel,
  )
  const pdeathsig = checkBoolean('pdeathsig', options.pdeathsig, true)
  const keeper = checkBoolean('keeper', options.keeper, true)
  const name = checkString('name', options.name) ?? d.name
  const maxLineLength = checkNumber('maxLineLength', options.maxLineLength, d.maxLineLength, {
    min: 80,
    integer: true,
  })
  const outputLines = checkNumber('outputLines', options.outputLines, d.outputLines, {
    integer: true,
    max: 10_000,
  })
  const logger = checkLogger(options.logger) ?? noopLogger
  const signal = checkSignal(options.signal)
  const pidFile = checkPidFile(
    options.pidFile,
    [bin, kind, url, configFile, tokenFile, args, hashToken(token), name],
    `cloudflared-${name}`,
  )

  return Object.freeze({
    bin,
    token,
    tokenFile,
    url,
    configFile,
    kind,
    protocol,
    args,
    env,
    restartStrategy,
    handover: Object.freeze({ readyConnections: handoverReady, timeoutMs: handoverTimeoutMs }),
    gracePeriodMs,
    killMarginMs,
    readyTimeoutMs,
    readyPollIntervalMs,
    readyProbeTimeoutMs,
    backoff: Object.freeze({ ...options.backoff, ...backoffOptions }),
    maxCrashes,
    maxAuthFailures,
    recoveryProbe,
    quicTimeouts,
    protocolFallback,
    localUrl,
    publicUrl,
    probeIntervalMs,
    probeTimeoutMs,
    publicUrlFailures,
    dns,
    logLevel,
    transportLogLevel,
    pdeathsig,
    keeper,
    name,
    maxLineLength,
    outputLines,
    logger,
    signal,
    pidFile,
    metrics: options.metrics,
  })
}
