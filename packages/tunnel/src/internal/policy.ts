/**
 * Pure restart policies of the tunnel supervisor (no I/O, injected clock), unit-tested in
 * src/policy.test.ts.
 */

/** Counts QUIC timeout incidents in a sliding window. */
export class IncidentWindow {
  readonly #threshold: number
  readonly #windowMs: number
  readonly #now: () => number
  #times: number[] = []

  constructor(threshold: number, windowMs: number, now: () => number = Date.now) {
    this.#threshold = threshold
    this.#windowMs = windowMs
    this.#now = now
  }

  #prune(now: number): void {
    const from = now - this.#windowMs
    while ((this.#times[0] ?? Number.POSITIVE_INFINITY) <= from) this.#times.shift()
  }

  /** Records one incident; true when the threshold is reached (the count is then cleared). */
  record(): boolean {
    const now = this.#now()
    this.#prune(now)
    this.#times.push(now)
    if (this.#times.length >= this.#threshold) {
      this.#times = []
      return true
    }
    return false
  }

  /** Incidents within the window. */
  get count(): number {
    this.#prune(this.#now())
    return this.#times.length
  }

  clear(): void {
    this.#times = []
  }
}

/**
 * Decides the switch to `--protocol http2`: after `restarts` QUIC restarts within `windowMs`.
 */
export class FallbackPolicy {
  readonly #window: IncidentWindow
  #active = false

  constructor(restarts: number, windowMs: number, now: () => number = Date.now) {
    this.#window = new IncidentWindow(restarts, windowMs, now)
  }

  /** Records a QUIC restart; true when this one switches to http2 (once). */
  recordQuicRestart(): boolean {
    if (this.#active) return false
    if (this.#window.record()) {
      this.#active = true
      return true
    }
    return false
  }

  get active(): boolean {
    return this.#active
  }
}

/**
 * A cause outside cloudflared that a later restart can fix: DNS down (from the output or the
 * DNS monitor), the network down (DNS monitor), the edge or the quick-tunnel API unreachable, a
 * rate-limited registration.
 */
export type EnvironmentCause = 'dns-failure' | 'network-down' | 'edge-unreachable' | 'rate-limited'

/** Facts about one run of cloudflared, gathered from its output. */
export interface RunFacts {
  readonly exitCode: number | null
  readonly signal: string | null
  /** A connection registered (or /ready answered 200) during this run. */
  readonly becameReady: boolean
  /** `Provided Tunnel token is not valid.` was printed. */
  readonly invalidToken: boolean
  /** A usage error was printed (`Incorrect Usage`, missing tunnel name, token file). */
  readonly usage: boolean
  /**
   * What the run's output or the DNS monitor said about the environment: such an exit is not a
   * crash, and is retried with capped backoff for as long as it lasts.
   */
  readonly environment: EnvironmentCause | undefined
  /** The last fatal line, for messages. */
  readonly lastFatal: string | undefined
}

/** What to do after cloudflared exited on its own. */
export type ExitVerdict =
  | {
      readonly action: 'restart'
      readonly reason: 'exit' | 'self-update'
      readonly immediate: boolean
      readonly crash: boolean
      readonly cause?: EnvironmentCause
    }
  | {
      readonly action: 'fail'
      readonly reason: 'invalid-token' | 'usage-error'
      readonly message: string
    }

/** The give-up rules for an exit (crash loops are counted by the caller). */
export function decideExit(facts: RunFacts): ExitVerdict {
  const detail = facts.lastFatal === undefined ? '' : `: ${facts.lastFatal}`
  if (facts.exitCode === 11) {
    return { action: 'restart', reason: 'self-update', immediate: true, crash: false }
  }
  if (facts.exitCode === 255) {
    if (facts.invalidToken) {
      return {
        action: 'fail',
        reason: 'invalid-token',
        message:
          'cloudflared rejected the tunnel token as malformed ("Provided Tunnel token is not valid.", exit 255); copy the token again from the Cloudflare dashboard',
      }
    }
    return {
      action: 'fail',
      reason: 'usage-error',
      message: `cloudflared exited with code 255 (usage error)${detail}`,
    }
  }
  if (facts.exitCode === 0 && !facts.becameReady) {
    return {
      action: 'fail',
      reason: 'usage-error',
      message: facts.usage
        ? `cloudflared reported a command-line usage error and exited with code 0${detail}`
        : 'cloudflared exited with code 0 before registering any connection (usually a usage or configuration error)',
    }
  }
  if (facts.environment !== undefined) {
    return {
      action: 'restart',
      reason: 'exit',
      immediate: false,
      crash: false,
      cause: facts.environment,
    }
  }
  return { action: 'restart', reason: 'exit', immediate: false, crash: true }
}

const NETWORK_ERROR =
  /dial (?:tcp|udp)|i\/o timeout|connection refused|network is unreachable|no route to host|tls handshake|connection reset|no such host|server misbehaving|timeout: no recent network activity/i

/**
 * The environmental cause a line of output names, if any: a DNS failure, a rate limit, or a
 * fatal network error (the quick-tunnel API request, the first edge connection).
 */
export function environmentOf(event: {
  readonly kind: string
  readonly failure?: boolean
  readonly fatal?: boolean
  readonly dns?: boolean
  readonly rateLimited?: boolean
  readonly duringShutdown?: boolean
  readonly message: string
  readonly error?: string
}): EnvironmentCause | undefined {
  if (event.duringShutdown === true) return undefined
  if (event.rateLimited === true) return 'rate-limited'
  if (event.kind === 'dns-failure' && event.failure === true) return 'dns-failure'
  if (event.fatal === true) {
    const text = `${event.message} ${event.error ?? ''}`
    if (/failed to request quick tunnel|quicktunnel response/i.test(text)) return 'edge-unreachable'
    if (NETWORK_ERROR.test(text)) return 'edge-unreachable'
  }
  return undefined
}

/** Outcome of one round of local/public probes. */
export interface ProbeRound {
  /** The local origin answered (status < 500); undefined when not probed. */
  readonly localOk: boolean | undefined
  /** The public URL answered (status < 500). */
  readonly publicOk: boolean
}

/**
 * Counts public-URL failures that are the tunnel's fault: only while the local origin answers.
 * Returns true when the tunnel should be restarted (the count is then cleared).
 */
export class PublicProbePolicy {
  readonly #threshold: number
  #failures = 0

  constructor(threshold: number) {
    this.#threshold = threshold
  }

  record(round: ProbeRound): boolean {
    if (round.publicOk) {
      this.#failures = 0
      return false
    }
    // A failing origin is reported, not blamed on the tunnel.
    if (round.localOk === false) return false
    this.#failures++
    if (this.#failures >= this.#threshold) {
      this.#failures = 0
      return true
    }
    return false
  }

  get failures(): number {
    return this.#failures
  }

  reset(): void {
    this.#failures = 0
  }
}
