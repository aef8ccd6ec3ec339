/**
 * The cloudflared supervisor: `createTunnel()`, `startTunnel()` and `tunnelCheck()`.
 */
import {
  checkNumber,
  checkOneOf,
  createBackoff,
  defineMetrics,
  Emitter,
  invalidOption,
  noopLogger,
  resolveBackoffOptions,
} from '@scanner/core'
import type {
  BackoffOptions,
  Disposer,
  HealthCheck,
  HealthCheckDetails,
  HealthStatus,
  Logger,
} from '@scanner/core'
import { readFileSync } from 'node:fs'
import type { Registry } from 'prom-client'
import { buildCloudflaredArgs, forbiddenArg, FORBIDDEN_ARGS } from './args.js'
import type { CloudflaredLogLevel, TunnelProtocol } from './args.js'
import { createLineClassifier } from './classify.js'
import type { CloudflaredEvent, LineClassifier } from './classify.js'
import { INSTALL_HINT, TunnelError } from './errors.js'
import { RingBuffer } from './internal/lines.js'
import {
  checkBoolean,
  checkEnv,
  checkLogger,
  checkPidFile,
  checkSignal,
  checkString,
  checkStringArray,
} from './internal/options.js'
import type { LogMethod } from './internal/options.js'
import {
  decideExit,
  environmentOf,
  FallbackPolicy,
  IncidentWindow,
  PublicProbePolicy,
} from './internal/policy.js'
import type { EnvironmentCause } from './internal/policy.js'
import { findExecutable, freePort } from './internal/proc.js'
import { Runner } from './internal/runner.js'
import type { ExitInfo, RunnerPhase } from './internal/runner.js'
import { processSupervisorDefaults } from './process-supervisor.js'
import type { StateChangeEvent, SupervisorState } from './process-supervisor.js'
import { probeReady, probeUrl } from './readiness.js'
import type { UrlProbeResult } from './readiness.js'

/** State of a tunnel supervisor; see {@link SupervisorState}. */
export type TunnelState = SupervisorState

/**
 * Why cloudflared is restarted:
 * - `exit`: it exited on its own (restarted after the backoff);
 * - `self-update`: it exited with code 11 after an auto-update (restarted at once);
 * - `quic-timeouts`: `quicTimeouts.threshold` QUIC timeout incidents within the window;
 * - `not-ready`: no ready connection for longer than `readyTimeoutMs`;
 * - `public-url`: the public URL failed `publicUrlFailures` times in a row while the origin answered;
 * - `dns`: the DNS monitor reported a failure while the tunnel was not ready;
 * - `manual`: `restart()` was called.
 */
export type RestartReason =
  'exit' | 'self-update' | 'quic-timeouts' | 'not-ready' | 'public-url' | 'dns' | 'manual'

/**
 * Why the supervisor gave up (state `failed`):
 * - `binary-not-found`: cloudflared is missing or not executable;
 * - `spawn-error`: it could not be started for another reason;
 * - `crash-loop`: `maxCrashes` starts in a row exited without becoming ready;
 * - `invalid-token`: the token is malformed (`Provided Tunnel token is not valid.`, exit 255);
 * - `usage-error`: a command-line usage error (exit 255, or exit 0 before any connection);
 * - `unauthorized`: the edge answered `Unauthorized` `maxAuthFailures` times in a row.
 */
export type FailureReason =
  | 'binary-not-found'
  | 'spawn-error'
  | 'crash-loop'
  | 'invalid-token'
  | 'usage-error'
  | 'unauthorized'

export type { EnvironmentCause }

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

/** A restart about to happen. */
export interface TunnelRestartEvent {
  readonly reason: RestartReason
  /** Delay before the new start, in milliseconds. */
  readonly delayMs: number
  /** Exit code when cloudflared exited on its own. */
  readonly exitCode: number | null
  readonly signal: string | null
  readonly pid: number | undefined
  /** Protocol of the next start. */
  readonly protocol: TunnelProtocol
  /**
   * Set when the exit had a cause outside cloudflared (DNS, network, edge, rate limit): such
   * exits never count toward the crash loop; they are retried with capped backoff.
   */
  readonly cause: EnvironmentCause | undefined
}

/** A classified line of cloudflared output (token removed). */
export interface TunnelLineEvent {
  readonly line: string
  readonly stream: 'stdout' | 'stderr'
  readonly event: CloudflaredEvent
}

/** Why the supervisor gave up. */
export interface TunnelFailure {
  readonly reason: FailureReason
  readonly message: string
  /** When, in milliseconds since the epoch. */
  readonly at: number
  readonly lastLines: readonly string[]
}

/** A recent error line. */
export interface TunnelErrorLine {
  readonly time: string
  readonly kind: CloudflaredEvent['kind']
  readonly message: string
}

/** Events of a {@link Tunnel}. */
export interface TunnelEvents {
  state: StateChangeEvent
  /** A cloudflared process was spawned (`start` counts from 1). */
  spawn: { readonly pid: number; readonly start: number; readonly args: readonly string[] }
  restart: TunnelRestartEvent
  line: TunnelLineEvent
  ready: { readonly readyConnections: number }
  url: { readonly url: string }
  'quic-timeout': { readonly connIndex: number | undefined; readonly incidents: number }
  exit: ExitInfo
  failed: TunnelFailure
}

/** Result of the last local/public probes. */
export interface TunnelProbeStatus extends UrlProbeResult {
  /** ISO 8601 time of the probe. */
  readonly at: string
}

/** What {@link Tunnel.status} returns (never contains the token). */
export interface TunnelStatus {
  readonly name: string
  readonly state: TunnelState
  readonly kind: TunnelKind
  readonly pid: number | undefined
  /** Start of the current cloudflared process, ISO 8601. */
  readonly startedAt: string | undefined
  readonly uptimeMs: number | undefined
  /** Protocol option of the current (or next) start: `http2` after a fallback. */
  readonly protocol: TunnelProtocol
  /** Protocol of the registered connections, from cloudflared's output. */
  readonly activeProtocol: string | undefined
  /** The supervisor switched to http2 after repeated QUIC restarts. */
  readonly protocolFallback: boolean
  readonly ready: boolean
  readonly readyConnections: number
  readonly connectorId: string | undefined
  /** Quick-tunnel URL (`https://….trycloudflare.com`). */
  readonly url: string | undefined
  /** cloudflared's metrics server, `127.0.0.1:port`. */
  readonly metricsAddress: string | undefined
  readonly starts: number
  readonly restarts: {
    readonly total: number
    readonly byReason: Readonly<Record<RestartReason, number>>
  }
  /** QUIC timeout incidents in the current window. */
  readonly quicIncidents: number
  /** `Unauthorized` answers in a row. */
  readonly authFailures: number
  /** Restarts are held while the network is down (DNS monitor). */
  readonly hold: 'network-down' | undefined
  /** State of the DNS monitor, when one is attached. */
  readonly dns: DnsMonitorState | undefined
  readonly probes: {
    readonly local: TunnelProbeStatus | undefined
    readonly public: TunnelProbeStatus | undefined
    /** Public-URL failures in a row counted against the tunnel. */
    readonly publicFailures: number
  }
  /** When the next start is due (state `backoff`), ISO 8601. */
  readonly nextStartAt: string | undefined
  /**
   * Why the supervisor waits (state `backoff`): the environmental cause of the last exit
   * (`dns-failure`, `network-down`, `edge-unreachable`, `rate-limited`) or the restart reason.
   */
  readonly backoffReason: RestartReason | EnvironmentCause | undefined
  /**
   * After a `crash-loop` give-up: when the next fresh start is due (no DNS monitor), ISO 8601;
   * with a DNS monitor attached the supervisor resumes on its `recovered` event instead.
   */
  readonly recoveryProbeAt: string | undefined
  readonly lastExit: ExitInfo | undefined
  /** Recent error lines (up to 10). */
  readonly lastErrors: readonly TunnelErrorLine[]
  readonly failure: TunnelFailure | undefined
  /** The last output lines (token removed). */
  readonly lastLines: readonly string[]
}

/** Options of {@link Tunnel.waitForReady}. */
export interface WaitForReadyOptions {
  /**
   * Rejects with `ERR_TUNNEL_READY_TIMEOUT` after this long.
   * @default 120000
   */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

/** A supervised cloudflared; see {@link createTunnel}. */
export interface Tunnel {
  readonly state: TunnelState
  readonly pid: number | undefined
  /** Quick-tunnel URL, once printed. */
  readonly url: string | undefined
  /**
   * Starts cloudflared; resolves once it is spawned. Rejects (and the state becomes `failed`)
   * when the binary is missing (`ERR_TUNNEL_BIN_NOT_FOUND`).
   */
  start(): Promise<void>
  /**
   * Stops: SIGTERM, then SIGKILL of the whole process group after `gracePeriodMs +
   * killMarginMs`. Idempotent; a second call during the wait kills at once.
   */
  stop(): Promise<void>
  /** Restarts cloudflared now (reason `manual`); false when there is nothing to restart. */
  restart(): boolean
  /** Resolves with the status once a connection is ready; rejects on failure, stop or timeout. */
  waitForReady(options?: WaitForReadyOptions): Promise<TunnelStatus>
  status(): TunnelStatus
  /** Same as `status()`, for `JSON.stringify`. */
  toJSON(): TunnelStatus
  on<K extends keyof TunnelEvents>(event: K, listener: (event: TunnelEvents[K]) => void): Disposer
  onStateChange(listener: (event: StateChangeEvent) => void): Disposer
  onRestart(listener: (event: TunnelRestartEvent) => void): Disposer
  onLine(listener: (event: TunnelLineEvent) => void): Disposer
}

const RESTART_REASONS: readonly RestartReason[] = [
  'exit',
  'self-update',
  'quic-timeouts',
  'not-ready',
  'public-url',
  'dns',
  'manual',
]
const STATES: readonly TunnelState[] = [
  'starting',
  'running',
  'degraded',
  'backoff',
  'stopping',
  'stopped',
  'failed',
]
const MAX_GRACE_MS = 180_000
const MAX_ERROR_MESSAGE = 500

function levelMethod(event: CloudflaredEvent): LogMethod {
  switch (event.level) {
    case 'trace':
    case 'debug':
      return 'debug'
    case 'info':
      return 'info'
    case 'warn':
      return event.duringShutdown === true ? 'info' : 'warn'
    default:
      return event.duringShutdown === true ? 'info' : 'error'
  }
}

/** Secrets hidden in a tunnel token (base64 JSON `{a,t,s}`): the token and its secret. */
function tokenSecrets(token: string): string[] {
  const secrets = [token.trim()]
  try {
    const parsed = JSON.parse(Buffer.from(token.trim(), 'base64').toString('utf8')) as {
      s?: unknown
    }
    if (typeof parsed.s === 'string' && parsed.s.length >= 8) secrets.push(parsed.s)
  } catch {
    // Not a token cloudflared would accept either.
  }
  return secrets
}

function hashToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined
  // Only a short, salted digest goes into the pid file name key.
  let h = 0x811c9dc5
  for (let i = 0; i < token.length; i++) {
    h ^= token.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h.toString(16)
}

interface RunState {
  classifier: LineClassifier
  registered: Set<number>
  connections: number
  everReady: boolean
  notReadySince: number
  invalidToken: boolean
  usage: boolean
  lastFatal: string | undefined
  metricsAddress: string
  probing: boolean
  environment: EnvironmentCause | undefined
}

class TunnelSupervisor implements Tunnel {
  readonly #runner: Runner
  readonly #events = new Emitter<TunnelEvents>()
  readonly #log: Logger
  readonly #output: Logger
  readonly #name: string
  readonly #kind: TunnelKind
  readonly #protocol: TunnelProtocol
  readonly #readyTimeoutMs: number
  readonly #readyPollIntervalMs: number
  readonly #readyProbeTimeoutMs: number
  readonly #maxAuthFailures: number
  readonly #recoveryProbe: { readonly initialMs: number; readonly maxMs: number } | undefined
  readonly #quic: IncidentWindow | undefined
  readonly #quicThreshold: number = tunnelDefaults.quicThreshold
  readonly #fallback: FallbackPolicy | undefined
  readonly #probeIntervalMs: number
  readonly #probeTimeoutMs: number
  readonly #localUrl: string | undefined
  readonly #publicUrl: string | undefined
  readonly #publicPolicy: PublicProbePolicy
  readonly #dns: DnsMonitorLike | undefined
  readonly #metrics
  readonly #secrets: string[]
  readonly #lastErrors = new RingBuffer<TunnelErrorLine>(10)
  readonly #byReason: Record<RestartReason, number>
  readonly #disposers: (() => void)[] = []

  #state: TunnelState = 'stopped'
  #run: RunState | undefined
  #restarts = 0
  #authFailures = 0
  #fallbackActive = false
  #url: string | undefined
  #connectorId: string | undefined
  #activeProtocol: string | undefined
  #lastExit: ExitInfo | undefined
  #failure: TunnelFailure | undefined
  #networkDown = false
  #dnsEpisodeHandled = false
  #publicFailing = false
  #localProbe: TunnelProbeStatus | undefined
  #publicProbe: TunnelProbeStatus | undefined
  #readyTimer: NodeJS.Timeout | undefined
  #probeTimer: NodeJS.Timeout | undefined
  #probeAbort = new AbortController()
  #backoffReason: RestartReason | EnvironmentCause | undefined
  #recoveryTimer: NodeJS.Timeout | undefined
  #recoveryAt: number | undefined
  #recoveryProbes = 0
  #started = false
  #stopRequested = false

  constructor(options: TunnelOptions) {
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
    this.#kind =
      url !== undefined
        ? 'quick'
        : token !== undefined || tokenFile !== undefined
          ? 'named'
          : 'config'
    this.#protocol = checkOneOf('protocol', options.protocol, ['auto', 'quic', 'http2'], d.protocol)
    const args = checkStringArray('args', options.args)
    const bad = forbiddenArg(args)
    if (bad !== undefined) {
      throw invalidOption('args', `no ${bad} (${FORBIDDEN_ARGS[bad] ?? 'not allowed'})`, bad)
    }
    const env = checkEnv('env', options.env)
    const gracePeriodMs = checkNumber('gracePeriodMs', options.gracePeriodMs, d.gracePeriodMs, {
      max: MAX_GRACE_MS,
    })
    const killMarginMs = checkNumber('killMarginMs', options.killMarginMs, d.killMarginMs)
    this.#readyTimeoutMs = checkNumber('readyTimeoutMs', options.readyTimeoutMs, d.readyTimeoutMs, {
      min: 1,
    })
    this.#readyPollIntervalMs = checkNumber(
      'readyPollIntervalMs',
      options.readyPollIntervalMs,
      d.readyPollIntervalMs,
      { min: 10 },
    )
    this.#readyProbeTimeoutMs = checkNumber(
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
    this.#maxAuthFailures = checkNumber(
      'maxAuthFailures',
      options.maxAuthFailures,
      d.maxAuthFailures,
      { min: 1, integer: true },
    )
    const rp = options.recoveryProbe ?? {}
    if (rp === false) this.#recoveryProbe = undefined
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
      this.#recoveryProbe = { initialMs, maxMs }
    }
    if (options.quicTimeouts === false) this.#quic = undefined
    else {
      const q = options.quicTimeouts ?? {}
      if (typeof q !== 'object' || q === null) {
        throw invalidOption('quicTimeouts', 'an object or false', q)
      }
      this.#quicThreshold = checkNumber('quicTimeouts.threshold', q.threshold, d.quicThreshold, {
        min: 1,
        integer: true,
      })
      this.#quic = new IncidentWindow(
        this.#quicThreshold,
        checkNumber('quicTimeouts.windowMs', q.windowMs, d.quicWindowMs, { min: 1 }),
      )
    }
    const pf = options.protocolFallback ?? true
    if (pf === false) this.#fallback = undefined
    else {
      if (pf !== true && (typeof pf !== 'object' || pf === null)) {
        throw invalidOption('protocolFallback', 'a boolean or an object', pf)
      }
      const o = pf === true ? {} : pf
      this.#fallback = new FallbackPolicy(
        checkNumber('protocolFallback.restarts', o.restarts, d.fallbackRestarts, {
          min: 1,
          integer: true,
        }),
        checkNumber('protocolFallback.windowMs', o.windowMs, d.fallbackWindowMs, { min: 1 }),
      )
    }
    this.#localUrl = checkUrl('localUrl', options.localUrl)
    this.#publicUrl = checkUrl('publicUrl', options.publicUrl)
    this.#probeIntervalMs = checkNumber(
      'probeIntervalMs',
      options.probeIntervalMs,
      d.probeIntervalMs,
      {
        min: 10,
      },
    )
    this.#probeTimeoutMs = checkNumber('probeTimeoutMs', options.probeTimeoutMs, d.probeTimeoutMs, {
      min: 1,
    })
    this.#publicPolicy = new PublicProbePolicy(
      checkNumber('publicUrlFailures', options.publicUrlFailures, d.publicUrlFailures, {
        min: 1,
        integer: true,
      }),
    )
    this.#dns = checkDns(options.dns)
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
    this.#name = checkString('name', options.name) ?? d.name
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
      [bin, this.#kind, url, configFile, tokenFile, args, hashToken(token), this.#name],
      `cloudflared-${this.#name}`,
    )

    this.#secrets = token === undefined ? [] : tokenSecrets(token)
    if (env.TUNNEL_TOKEN !== undefined) this.#secrets.push(...tokenSecrets(env.TUNNEL_TOKEN))
    if (tokenFile !== undefined) {
      try {
        const content = readFileSync(tokenFile, 'utf8').trim()
        if (content !== '') this.#secrets.push(...tokenSecrets(content))
      } catch {
        // cloudflared reports an unreadable token file itself (exit 255).
      }
    }
    this.#log = logger.child({ module: 'tunnel', tunnel: this.#name })
    this.#output = logger.child({ module: 'cloudflared', tunnel: this.#name })
    this.#byReason = Object.fromEntries(RESTART_REASONS.map((r) => [r, 0])) as Record<
      RestartReason,
      number
    >
    this.#metrics = defineMetrics(options.metrics, (m) => ({
      restarts: m.counter({
        name: 'tunnel_restarts_total',
        help: 'cloudflared restarts by reason',
        labelNames: ['tunnel', 'reason'],
      }),
      quic: m.counter({
        name: 'tunnel_quic_timeouts_total',
        help: 'QUIC timeout incidents (one per timeout per connection)',
        labelNames: ['tunnel'],
      }),
      dns: m.counter({
        name: 'tunnel_dns_failures_total',
        help: 'DNS failures seen in cloudflared output (source=cloudflared) or by the DNS monitor (source=monitor)',
        labelNames: ['tunnel', 'source'],
      }),
      ready: m.gauge({
        name: 'tunnel_ready_connections',
        help: 'Ready connections of cloudflared (from /ready)',
        labelNames: ['tunnel'],
      }),
      state: m.gauge({
        name: 'tunnel_state',
        help: '1 for the current state of the tunnel supervisor, 0 for the others',
        labelNames: ['tunnel', 'state'],
      }),
    }))
    this.#setStateMetric()

    const extendEnv = true
    this.#runner = new Runner(
      {
        name: 'cloudflared',
        gracePeriodMs,
        killMarginMs,
        killSignal: 'SIGTERM',
        backoff: createBackoff({ ...options.backoff, ...backoffOptions }),
        maxCrashes,
        pidFile,
        pdeathsig,
        keeper,
        maxLineLength,
        outputLines,
        secrets: this.#secrets,
        log: this.#log,
        notFound: (command) => notFoundError(command),
      },
      {
        plan: async () => {
          const spawnEnv = { ...process.env, ...env }
          const command = findExecutable(bin, spawnEnv)
          if (command === undefined) throw notFoundError(bin)
          const port = await freePort()
          const metrics = `127.0.0.1:${port}`
          const protocol = this.#currentProtocol()
          const built = buildCloudflaredArgs({
            token,
            tokenFile,
            url,
            configFile,
            metrics,
            protocol,
            gracePeriodMs,
            logLevel,
            transportLogLevel,
            args,
          })
          this.#run = {
            classifier: createLineClassifier(),
            registered: new Set(),
            connections: 0,
            everReady: false,
            notReadySince: Date.now(),
            invalidToken: false,
            usage: false,
            lastFatal: undefined,
            metricsAddress: metrics,
            probing: false,
            environment: undefined,
          }
          return { command, args: built.args, env: { ...env, ...built.env }, extendEnv }
        },
        onSpawn: (child) => {
          this.#backoffReason = undefined
          this.#events.emit('spawn', { pid: child.pid, start: child.start, args: child.args })
          if (this.#run) this.#run.notReadySince = Date.now()
          this.#quic?.clear()
          this.#publicPolicy.reset()
          this.#publicFailing = false
          this.#url = undefined
          this.#activeProtocol = undefined
          this.#metrics?.ready.set({ tunnel: this.#name }, 0)
        },
        onLine: (line, stream) => {
          this.#onLine(line, stream)
        },
        onExit: (info) => {
          const run = this.#run
          const verdict = decideExit({
            exitCode: info.exitCode,
            signal: info.signal,
            becameReady: info.becameReady,
            invalidToken: run?.invalidToken ?? false,
            usage: run?.usage ?? false,
            environment: run?.environment ?? this.#monitorCause(),
            lastFatal: run?.lastFatal,
          })
          return verdict
        },
        onExited: (info) => {
          this.#lastExit = info
          if (this.#run) {
            this.#run.connections = 0
            this.#run.registered.clear()
          }
          this.#metrics?.ready.set({ tunnel: this.#name }, 0)
          this.#events.emit('exit', info)
        },
        onPhase: (phase) => {
          if (phase === 'stopped' || (phase === 'failed' && !this.#revivable())) {
            this.#clearTimers()
          }
          this.#refresh()
        },
        onRestart: (restart) => {
          const reason = restart.reason as RestartReason
          this.#restarts++
          this.#byReason[reason] = (this.#byReason[reason] ?? 0) + 1
          this.#metrics?.restarts.inc({ tunnel: this.#name, reason })
          const cause = restart.cause as EnvironmentCause | undefined
          this.#backoffReason = cause ?? reason
          if (cause !== undefined) {
            this.#log.warn(
              { cause, delayMs: restart.delayMs },
              'cloudflared exited because of its environment: not a crash, retrying',
            )
          }
          this.#events.emit('restart', {
            cause,
            reason,
            delayMs: restart.delayMs,
            exitCode: restart.exitCode,
            signal: restart.signal,
            pid: restart.pid,
            protocol: this.#currentProtocol(),
          })
        },
        onFail: (failure) => {
          this.#failure = { ...failure, reason: failure.reason as FailureReason }
          this.#backoffReason = undefined
          this.#events.emit('failed', this.#failure)
          if (this.#revivable()) this.#scheduleRecoveryProbe()
        },
        holdRestarts: () => this.#networkDown,
      },
    )

    if (signal) {
      if (signal.aborted) void this.stop()
      else signal.addEventListener('abort', () => void this.stop(), { once: true })
    }
  }

  /** The environmental cause the DNS monitor reports right now. */
  #monitorCause(): EnvironmentCause | undefined {
    const state = this.#dns?.state
    return state === 'dns-failure' || state === 'network-down' ? state : undefined
  }

  /** A give-up that the environment may have caused, and that may resume by itself. */
  #revivable(): boolean {
    return this.#failure?.reason === 'crash-loop' && !this.#stopRequested
  }

  #scheduleRecoveryProbe(): void {
    const probe = this.#recoveryProbe
    // With a DNS monitor, its `recovered` event resumes.
    if (probe === undefined || this.#dns !== undefined) return
    const delayMs = Math.min(probe.initialMs * 2 ** this.#recoveryProbes, probe.maxMs)
    this.#recoveryProbes++
    this.#recoveryAt = Date.now() + delayMs
    this.#log.warn({ delayMs }, 'gave up; a fresh start will probe whether the cause cleared')
    this.#recoveryTimer = setTimeout(() => {
      this.#recoveryTimer = undefined
      this.#recoveryAt = undefined
      this.#revive('recovery probe')
    }, delayMs)
    this.#recoveryTimer.unref()
  }

  #revive(why: string): void {
    if (!this.#revivable()) return
    if (this.#recoveryTimer) clearTimeout(this.#recoveryTimer)
    this.#recoveryTimer = undefined
    this.#recoveryAt = undefined
    const failure = this.#failure
    this.#failure = undefined
    if (!this.#runner.revive()) {
      this.#failure = failure
      return
    }
    this.#log.warn({ why, previous: failure?.reason }, 'resuming after a give-up')
  }

  #currentProtocol(): TunnelProtocol {
    return this.#fallbackActive ? 'http2' : this.#protocol
  }

  // ---- output ----------------------------------------------------------------------------

  #onLine(line: string, stream: 'stdout' | 'stderr'): void {
    const run = this.#run
    if (run === undefined) return
    const event = run.classifier.classify(line)
    const method = levelMethod(event)
    this.#output[method](
      {
        kind: event.kind,
        stream,
        ...(event.connIndex === undefined ? {} : { connIndex: event.connIndex }),
      },
      line,
    )
    if (this.#events.listenerCount('line') > 0) this.#events.emit('line', { line, stream, event })
    if (event.usage === true) run.usage = true
    run.environment ??= environmentOf(event)
    if (event.fatal === true) run.lastFatal = (event.error ?? event.message) || line
    if (event.failure === true) {
      this.#lastErrors.push({
        time: event.time ?? new Date().toISOString(),
        kind: event.kind,
        message: line.length > MAX_ERROR_MESSAGE ? line.slice(0, MAX_ERROR_MESSAGE) + '…' : line,
      })
    }
    switch (event.kind) {
      case 'connection-registered': {
        run.registered.add(event.connIndex ?? 0)
        this.#authFailures = 0
        if (event.protocol !== undefined) this.#activeProtocol = event.protocol
        if (event.duringShutdown !== true) {
          run.connections = Math.max(run.connections, run.registered.size)
          this.#updateReady(run)
        }
        break
      }
      case 'connection-lost':
        if (event.connIndex !== undefined) run.registered.delete(event.connIndex)
        break
      case 'quic-timeout':
        if (event.incidentStart === true && event.failure !== false) this.#quicIncident(event)
        break
      case 'auth-failure':
        if (event.usage === true || event.fatal === true) {
          if (/token/i.test(line)) run.invalidToken = true
        } else if (event.failure === true) {
          this.#authFailures++
          if (this.#authFailures >= this.#maxAuthFailures) {
            void this.#runner.fail(
              'unauthorized',
              `the Cloudflare edge refused the tunnel ${this.#authFailures} times in a row (${event.error ?? 'Unauthorized'}): the token or tunnel is revoked, deleted or wrong`,
            )
          }
        }
        break
      case 'metrics-started':
        if (event.address !== undefined)
          run.metricsAddress = event.address.replace(/^localhost:/, '127.0.0.1:')
        break
      case 'quick-tunnel-url':
        if (event.url !== undefined && event.url !== this.#url) {
          this.#url = event.url
          this.#log.info({ url: event.url }, 'quick tunnel URL')
          this.#events.emit('url', { url: event.url })
        }
        break
      case 'dns-failure':
        if (event.failure === true)
          this.#metrics?.dns.inc({ tunnel: this.#name, source: 'cloudflared' })
        break
      default:
        break
    }
  }

  #quicIncident(event: CloudflaredEvent): void {
    const quic = this.#quic
    this.#metrics?.quic.inc({ tunnel: this.#name })
    if (quic === undefined) return
    const restart = quic.record()
    const incidents = restart ? this.#quicThreshold : quic.count
    this.#events.emit('quic-timeout', { connIndex: event.connIndex, incidents })
    if (!restart) return
    if (this.#networkDown) {
      this.#log.warn({ incidents }, 'QUIC timeouts while the network is down: not restarting')
      return
    }
    if (this.#runner.restart('quic-timeouts', false)) {
      if (this.#protocol === 'auto' && this.#fallback?.recordQuicRestart() === true) {
        this.#fallbackActive = true
        this.#log.warn(
          {},
          'repeated QUIC timeouts: the next cloudflared start uses --protocol http2',
        )
      }
    }
  }

  // ---- readiness -------------------------------------------------------------------------

  #updateReady(run: RunState): void {
    const ready = run.connections > 0
    this.#metrics?.ready.set({ tunnel: this.#name }, run.connections)
    if (ready && !run.everReady) {
      run.everReady = true
      this.#recoveryProbes = 0
      this.#runner.markReady()
      this.#log.info({ readyConnections: run.connections }, 'tunnel ready')
      this.#events.emit('ready', { readyConnections: run.connections })
    }
    if (ready) run.notReadySince = Number.POSITIVE_INFINITY
    else if (run.notReadySince === Number.POSITIVE_INFINITY) {
      run.notReadySince = Date.now()
      this.#log.warn({}, 'cloudflared has no ready connection')
    }
    this.#refresh()
  }

  #readyTick(): void {
    const run = this.#run
    if (run === undefined || this.#runner.phase !== 'up' || this.#runner.stopping) return
    const notReadyFor = Date.now() - run.notReadySince
    if (run.connections === 0 && notReadyFor > this.#readyTimeoutMs) {
      if (this.#networkDown) {
        // cloudflared keeps retrying on its own; restarting it cannot bring the network back.
        run.notReadySince = Date.now()
        this.#log.warn({}, 'not ready, but the network is down: holding the restart')
      } else {
        run.notReadySince = Date.now()
        this.#runner.restart('not-ready', false)
        return
      }
    }
    if (run.probing) return
    run.probing = true
    void probeReady(run.metricsAddress, {
      timeoutMs: this.#readyProbeTimeoutMs,
      signal: this.#probeAbort.signal,
    }).then((result) => {
      run.probing = false
      if (this.#run !== run || this.#runner.phase !== 'up') return
      if (result.connectorId !== undefined) this.#connectorId = result.connectorId
      if (result.status === undefined) {
        // Metrics server not answering (yet): fall back on the registration lines.
        run.connections = run.registered.size
      } else {
        run.connections = result.readyConnections
      }
      this.#updateReady(run)
    })
  }

  // ---- probes ----------------------------------------------------------------------------

  async #probeRound(): Promise<void> {
    const run = this.#run
    if (run === undefined || run.connections === 0 || this.#runner.phase !== 'up') return
    const signal = this.#probeAbort.signal
    const stamp = (r: UrlProbeResult): TunnelProbeStatus => ({ ...r, at: new Date().toISOString() })
    const [local, pub] = await Promise.all([
      this.#localUrl === undefined
        ? undefined
        : probeUrl(this.#localUrl, this.#probeTimeoutMs, signal),
      this.#publicUrl === undefined
        ? undefined
        : probeUrl(this.#publicUrl, this.#probeTimeoutMs, signal),
    ])
    if (signal.aborted || this.#run !== run) return
    if (local !== undefined) {
      if (!local.ok && this.#localProbe?.ok !== false) {
        this.#log.warn(
          { url: this.#localUrl, error: local.error },
          "the local origin is failing (not the tunnel's fault)",
        )
      }
      this.#localProbe = stamp(local)
    }
    if (pub === undefined) return
    this.#publicProbe = stamp(pub)
    this.#publicFailing = !pub.ok && local?.ok !== false
    if (this.#publicPolicy.record({ localOk: local?.ok, publicOk: pub.ok })) {
      if (this.#networkDown)
        this.#log.warn({}, 'public URL failing while the network is down: not restarting')
      else {
        this.#log.warn(
          { url: this.#publicUrl, error: pub.error },
          'public URL failing while the origin answers',
        )
        this.#runner.restart('public-url', false)
      }
    }
    this.#refresh()
  }

  // ---- DNS -------------------------------------------------------------------------------

  #attachDns(): void {
    const dns = this.#dns
    if (dns === undefined) return
    this.#networkDown = dns.state === 'network-down'
    this.#disposers.push(
      dns.on('failure', () => {
        this.#metrics?.dns.inc({ tunnel: this.#name, source: 'monitor' })
        if (this.#dnsEpisodeHandled) return
        this.#dnsEpisodeHandled = true
        const ready = (this.#run?.connections ?? 0) > 0
        if (!ready) {
          this.#log.warn({}, 'DNS failure while the tunnel is not ready: restarting cloudflared')
          this.#runner.restart('dns', true)
        } else {
          this.#log.warn({}, 'DNS failure; the tunnel is ready, so it is not restarted')
        }
        this.#refresh()
      }),
      dns.on('network-down', () => {
        this.#metrics?.dns.inc({ tunnel: this.#name, source: 'monitor' })
        if (!this.#networkDown) this.#log.warn({}, 'network down: cloudflared restarts are on hold')
        this.#networkDown = true
        this.#dnsEpisodeHandled = true
        this.#refresh()
      }),
      dns.on('recovered', () => {
        const wasDown = this.#networkDown
        this.#networkDown = false
        this.#dnsEpisodeHandled = false
        if (wasDown) this.#log.info({}, 'network back: resuming')
        this.#runner.resume()
        this.#revive('DNS recovered')
        this.#refresh()
      }),
    )
  }

  // ---- state -----------------------------------------------------------------------------

  #computeState(): TunnelState {
    const phase: RunnerPhase = this.#runner.phase
    switch (phase) {
      case 'idle':
        return 'stopped'
      case 'up': {
        const run = this.#run
        if (!run?.everReady) return 'starting'
        if (run.connections === 0 || this.#publicFailing) return 'degraded'
        return 'running'
      }
      default:
        return phase
    }
  }

  #refresh(): void {
    const next = this.#computeState()
    if (next === this.#state) return
    const previous = this.#state
    this.#state = next
    this.#setStateMetric()
    this.#log.info({ state: next, previous }, 'tunnel state')
    this.#events.emit('state', { state: next, previous })
  }

  #setStateMetric(): void {
    const m = this.#metrics
    if (m === undefined) return
    for (const s of STATES) m.state.set({ tunnel: this.#name, state: s }, s === this.#state ? 1 : 0)
  }

  #clearTimers(): void {
    if (this.#recoveryTimer) clearTimeout(this.#recoveryTimer)
    this.#recoveryTimer = undefined
    this.#recoveryAt = undefined
    if (this.#readyTimer) clearInterval(this.#readyTimer)
    if (this.#probeTimer) clearInterval(this.#probeTimer)
    this.#readyTimer = undefined
    this.#probeTimer = undefined
    this.#probeAbort.abort()
    for (const dispose of this.#disposers.splice(0)) dispose()
  }

  // ---- public API ------------------------------------------------------------------------

  get state(): TunnelState {
    return this.#state
  }
  get pid(): number | undefined {
    return this.#runner.child?.pid
  }
  get url(): string | undefined {
    return this.#url
  }

  async start(): Promise<void> {
    if (!this.#started) {
      this.#started = true
      this.#attachDns()
      this.#readyTimer = setInterval(() => {
        this.#readyTick()
      }, this.#readyPollIntervalMs)
      this.#readyTimer.unref()
      if (this.#localUrl !== undefined || this.#publicUrl !== undefined) {
        this.#probeTimer = setInterval(() => {
          void this.#probeRound()
        }, this.#probeIntervalMs)
        this.#probeTimer.unref()
      }
    }
    await this.#runner.start()
  }

  async stop(): Promise<void> {
    this.#stopRequested = true
    const stopping = this.#runner.stop()
    this.#clearTimers()
    await stopping
  }

  restart(): boolean {
    return this.#runner.restart('manual', true)
  }

  waitForReady(options: WaitForReadyOptions = {}): Promise<TunnelStatus> {
    const timeoutMs = checkNumber('timeoutMs', options.timeoutMs, 120_000)
    return new Promise((resolve, reject) => {
      const disposers: (() => void)[] = []
      const finish = (error?: Error): void => {
        for (const d of disposers) d()
        if (error) reject(error)
        else resolve(this.status())
      }
      const check = (): boolean => {
        if (this.#state === 'running' || this.#state === 'degraded') {
          if ((this.#run?.connections ?? 0) > 0) {
            finish()
            return true
          }
        }
        if (this.#state === 'failed') {
          const f = this.#failure
          finish(
            new TunnelError('ERR_TUNNEL_FAILED', `the tunnel failed: ${f?.message ?? 'unknown'}`, {
              ...(f ? { reason: f.reason, lastLines: f.lastLines } : {}),
            }),
          )
          return true
        }
        if (this.#state === 'stopped' && this.#runner.phase !== 'idle') {
          finish(new TunnelError('ERR_TUNNEL_STOPPED', 'the tunnel was stopped'))
          return true
        }
        return false
      }
      if (check()) return
      disposers.push(this.#events.on('state', () => void check()))
      disposers.push(this.#events.on('ready', () => void check()))
      const timer = setTimeout(() => {
        finish(
          new TunnelError(
            'ERR_TUNNEL_READY_TIMEOUT',
            `the tunnel was not ready after ${timeoutMs} ms`,
            { lastLines: this.#runner.lastLines() },
          ),
        )
      }, timeoutMs)
      timer.unref()
      disposers.push(() => {
        clearTimeout(timer)
      })
      const signal = options.signal
      if (signal) {
        const onAbort = (): void => {
          finish(
            new TunnelError('ERR_TUNNEL_STOPPED', 'waitForReady was aborted', {
              cause: signal.reason,
            }),
          )
        }
        if (signal.aborted) onAbort()
        else {
          signal.addEventListener('abort', onAbort, { once: true })
          disposers.push(() => {
            signal.removeEventListener('abort', onAbort)
          })
        }
      }
    })
  }

  status(): TunnelStatus {
    const child = this.#runner.child
    const run = this.#run
    const next = this.#runner.nextStartAt
    const connections = child === undefined ? 0 : (run?.connections ?? 0)
    return {
      name: this.#name,
      state: this.#state,
      kind: this.#kind,
      pid: child?.pid,
      startedAt: child === undefined ? undefined : new Date(child.startedAt).toISOString(),
      uptimeMs: child === undefined ? undefined : Date.now() - child.startedAt,
      protocol: this.#currentProtocol(),
      activeProtocol: this.#activeProtocol,
      protocolFallback: this.#fallbackActive,
      ready: connections > 0,
      readyConnections: connections,
      connectorId: this.#connectorId,
      url: this.#url,
      metricsAddress: child === undefined ? undefined : run?.metricsAddress,
      starts: this.#runner.starts,
      restarts: { total: this.#restarts, byReason: { ...this.#byReason } },
      quicIncidents: this.#quic?.count ?? 0,
      authFailures: this.#authFailures,
      hold: this.#networkDown ? 'network-down' : undefined,
      dns: this.#dns?.state,
      probes: {
        local: this.#localProbe,
        public: this.#publicProbe,
        publicFailures: this.#publicPolicy.failures,
      },
      nextStartAt: next === undefined ? undefined : new Date(next).toISOString(),
      backoffReason: this.#state === 'backoff' ? this.#backoffReason : undefined,
      recoveryProbeAt:
        this.#recoveryAt === undefined ? undefined : new Date(this.#recoveryAt).toISOString(),
      lastExit: this.#lastExit,
      lastErrors: this.#lastErrors.toArray(),
      failure: this.#failure,
      lastLines: this.#runner.lastLines(),
    }
  }

  toJSON(): TunnelStatus {
    return this.status()
  }

  on<K extends keyof TunnelEvents>(event: K, listener: (event: TunnelEvents[K]) => void): Disposer {
    return this.#events.on(event, listener)
  }
  onStateChange(listener: (event: StateChangeEvent) => void): Disposer {
    return this.#events.on('state', listener)
  }
  onRestart(listener: (event: TunnelRestartEvent) => void): Disposer {
    return this.#events.on('restart', listener)
  }
  onLine(listener: (event: TunnelLineEvent) => void): Disposer {
    return this.#events.on('line', listener)
  }
}

function notFoundError(bin: string): TunnelError {
  return new TunnelError(
    'ERR_TUNNEL_BIN_NOT_FOUND',
    `cloudflared not found or not executable: "${bin}". ${INSTALL_HINT}`,
  )
}

function checkUrl(option: string, value: unknown): string | undefined {
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

function checkDns(value: unknown): DnsMonitorLike | undefined {
  if (value === undefined) return undefined
  const dns = (typeof value === 'object' && value !== null ? value : {}) as Partial<DnsMonitorLike>
  if (typeof dns.on !== 'function') {
    throw invalidOption('dns', 'a DNS monitor (createDnsMonitor() from @scanner/health)', value)
  }
  return value as DnsMonitorLike
}

/**
 * Creates a cloudflared supervisor (not started: call `start()`). It runs cloudflared with
 * execa (no shell, `--no-autoupdate`, the token only in `TUNNEL_TOKEN`, `--metrics` on a
 * loopback port it chose), restarts it with backoff, detects QUIC timeouts, dead tunnels and
 * DNS trouble, gives up on errors a restart cannot fix, and stops it with nothing left behind.
 *
 * @example
 * ```ts
 * const tunnel = createTunnel({ token: process.env.TUNNEL_TOKEN, logger, localUrl: 'http://127.0.0.1:3000/health/' })
 * tunnel.onStateChange(({ state }) => logger.info({ state }, 'tunnel'))
 * await tunnel.start()
 * process.once('SIGTERM', () => void tunnel.stop())
 * ```
 */
export function createTunnel(options: TunnelOptions): Tunnel {
  return new TunnelSupervisor(options)
}

/**
 * Creates and starts a tunnel; resolves once cloudflared is spawned.
 *
 * @example
 * ```ts
 * const tunnel = await startTunnel({ url: 'http://127.0.0.1:3000' })
 * const { url } = await tunnel.waitForReady({ timeoutMs: 30_000 })
 * ```
 */
export async function startTunnel(options: TunnelOptions): Promise<Tunnel> {
  const tunnel = createTunnel(options)
  await tunnel.start()
  return tunnel
}

/** Options of {@link tunnelCheck}. */
export interface TunnelCheckOptions {
  /**
   * Check name (the key in `/health/detailed/`).
   * @default 'tunnel'
   */
  readonly name?: string
  /**
   * Whether a failed tunnel makes the whole service unhealthy.
   * @default false
   */
  readonly critical?: boolean
  /**
   * Time limit of the check (it only reads state).
   * @default 100
   */
  readonly timeoutMs?: number
}

/** Maps a tunnel state to a health status. */
export function tunnelHealth(state: TunnelState): HealthStatus {
  switch (state) {
    case 'running':
      return 'healthy'
    case 'starting':
    case 'degraded':
    case 'backoff':
    case 'stopping':
      return 'degraded'
    default:
      return 'unhealthy'
  }
}

/**
 * A health check (the `@scanner/core` `HealthCheck` shape) reporting the tunnel: `running` is
 * healthy, `starting`/`degraded`/`backoff`/`stopping` degraded, `failed`/`stopped` unhealthy.
 *
 * @example
 * ```ts
 * const health = createHealth({ checks: [tunnelCheck(tunnel)] })
 * ```
 */
export function tunnelCheck(tunnel: Tunnel, options: TunnelCheckOptions = {}): HealthCheck {
  const name = checkString('name', options.name) ?? 'tunnel'
  const critical = checkBoolean('critical', options.critical, false)
  const timeoutMs = checkNumber('timeoutMs', options.timeoutMs, 100)
  return {
    name,
    critical,
    timeoutMs,
    run(): HealthCheckDetails {
      const s = tunnel.status()
      const status = tunnelHealth(s.state)
      return {
        status,
        state: s.state,
        protocol: s.activeProtocol ?? s.protocol,
        ready_connections: s.readyConnections,
        restarts: s.restarts.total,
        pid: s.pid ?? null,
        url: s.url ?? null,
        ...(status === 'healthy'
          ? {}
          : {
              error:
                s.failure?.message ??
                (s.hold === 'network-down' ? 'network down' : `tunnel ${s.state}`),
            }),
      }
    },
  }
}
