/**
 * The public types of the tunnel supervisor: states, reasons, events, status and the `Tunnel`
 * handle.
 */
import type { Disposer } from '@scanner/core'
import type { TunnelProtocol } from '../args.js'
import type { CloudflaredEvent } from '../classify.js'
import type { EnvironmentCause } from '../internal/policy.js'
import type { ExitInfo } from '../internal/runner.js'
import type { StateChangeEvent, SupervisorState } from '../process-supervisor.js'
import type { UrlProbeResult } from '../readiness.js'
import type { DnsMonitorState, TunnelKind } from './options.js'

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
 * - `manual`: `restart()` was called;
 * - `replace`: `replace()` was called (new binary or arguments).
 */
export type RestartReason =
  | 'exit'
  | 'self-update'
  | 'quic-timeouts'
  | 'not-ready'
  | 'public-url'
  | 'dns'
  | 'manual'
  | 'replace'

/**
 * How a restart ran:
 * - `make-before-break`: a new replica started next to the running cloudflared, became ready,
 *   and only then was the old one stopped gracefully (named and config-file tunnels);
 * - `break-before-make`: the old one stopped (or had exited) before the new one started (exits,
 *   quick tunnels, `restartStrategy: 'break-before-make'`, or the fallback of a failed handover).
 */
export type RestartStrategy = 'make-before-break' | 'break-before-make'

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

/** Options of {@link Tunnel.replace}. */
export interface ReplaceOptions {
  /** The new cloudflared executable (path or name on `PATH`). @default the current one */
  readonly bin?: string
  /** The new extra arguments (same rules as the `args` option). @default the current ones */
  readonly args?: readonly string[]
}

/** How a handover (or its fallback) went. */
export interface HandoverResult {
  readonly strategy: RestartStrategy
  /** True when make-before-break was tried and the supervisor fell back to break-before-make. */
  readonly fallback: boolean
  /**
   * Make-before-break: from the start of the new replica to the exit of the old one, in ms.
   * Undefined for break-before-make (see the `handover` event once the new one is ready).
   */
  readonly handoverMs: number | undefined
}

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
  /** How the restart ran. A make-before-break restart is emitted once the old one is gone. */
  readonly strategy: RestartStrategy
  /** Make-before-break: start of the new replica to exit of the old one, in ms. */
  readonly handoverMs: number | undefined
  /** Make-before-break was tried and fell back to break-before-make. */
  readonly fallback: boolean
}

/**
 * A step of a restart handover:
 * - `started`: a replica is starting next to the running cloudflared (make-before-break);
 * - `ready`: the replica is ready; the old one is being stopped;
 * - `completed`: the old one is gone (make-before-break), or the new one is ready after a
 *   break-before-make restart; `handoverMs` is how long it took (break-before-make: from the
 *   restart request to the first ready connection, the time the tunnel was down);
 * - `fallback`: the replica did not become ready in time (or exited); it was stopped and the
 *   restart runs break-before-make.
 */
export interface TunnelHandoverEvent {
  readonly phase: 'started' | 'ready' | 'completed' | 'fallback'
  readonly strategy: RestartStrategy
  readonly reason: RestartReason
  /** The cloudflared being replaced. */
  readonly oldPid: number | undefined
  /** The new cloudflared (replica). */
  readonly newPid: number | undefined
  readonly handoverMs: number | undefined
  /** Why the fallback happened. */
  readonly message: string | undefined
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
  spawn: {
    readonly pid: number
    readonly start: number
    readonly args: readonly string[]
    /** Started as a replica for a make-before-break handover. */
    readonly replica: boolean
  }
  restart: TunnelRestartEvent
  line: TunnelLineEvent
  ready: { readonly readyConnections: number }
  url: { readonly url: string }
  'quic-timeout': { readonly connIndex: number | undefined; readonly incidents: number }
  exit: ExitInfo
  failed: TunnelFailure
  handover: TunnelHandoverEvent
}

/** One cloudflared process of the tunnel (two while a handover runs). */
export interface TunnelReplicaStatus {
  readonly pid: number
  /** `active`: serves the tunnel; `starting`: a replica not promoted yet; `retiring`: being stopped. */
  readonly role: 'active' | 'starting' | 'retiring'
  readonly startedAt: string
  readonly readyConnections: number
  readonly metricsAddress: string | undefined
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
  /** Every cloudflared process of the tunnel: one, or two while a handover runs. */
  readonly replicas: readonly TunnelReplicaStatus[]
  /** The handover in progress. */
  readonly handover:
    | {
        readonly reason: RestartReason
        readonly startedAt: string
        readonly newPid: number | undefined
      }
    | undefined
  /** How the last restart ran, and how long its handover took. */
  readonly lastHandover: TunnelHandoverEvent | undefined
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
  /**
   * Restarts cloudflared now (reason `manual`): make-before-break for a running named or
   * config-file tunnel (see `restartStrategy`). False when there is nothing to restart or a
   * handover is already running.
   */
  restart(): boolean
  /**
   * Switches to a new cloudflared binary and/or new extra arguments without downtime (reason
   * `replace`): the same make-before-break handover as a restart, so an upgrade or a config
   * reload drops no request. Quick tunnels (a new URL each start) restart break-before-make.
   * When cloudflared is not running, the new values apply at the next start. Rejects with a
   * `TypeError` naming a bad option, or `ERR_TUNNEL_STOPPED` after `stop()`.
   */
  replace(options: ReplaceOptions): Promise<HandoverResult>
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
