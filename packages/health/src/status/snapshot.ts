/*
 * What the status page shows besides the history: the current tunnel status, health
 * components and breakers. Structural types again (health imports neither tunnel nor
 * circuit-breaker): `tunnel.status()`, `health.run()` and `breakers.stats()` fit as they are.
 */

/** The tunnel part of a {@link StatusSnapshot} (a subset of `TunnelStatus`). */
export interface StatusTunnelSnapshot {
  readonly state: string
  readonly kind?: string
  readonly pid?: number | undefined
  readonly url?: string | undefined
  readonly ready?: boolean
  readonly readyConnections?: number
  readonly protocol?: string
  readonly activeProtocol?: string | undefined
  readonly restarts?: { readonly total: number }
  readonly quicIncidents?: number
  readonly dns?: string | undefined
  readonly hold?: string | undefined
  readonly nextStartAt?: string | undefined
  readonly failure?: { readonly reason: string; readonly message: string } | undefined
}

/** One health component of a {@link StatusSnapshot}. */
export interface StatusComponentSnapshot {
  readonly status: string
  readonly latency_ms?: unknown
  readonly error?: unknown
  readonly [key: string]: unknown
}

/** One route breaker of a {@link StatusSnapshot} (a subset of `BreakerStats`). */
export interface StatusBreakerSnapshot {
  readonly key: string
  readonly state: string
  /** Percentage (0-100) of failed calls in the rolling window. */
  readonly errorRate: number
  readonly requests?: number
  readonly failures?: number
  readonly rejections?: number
  readonly windowCalls?: number
  readonly nextAttemptAt?: number | undefined
}

/** Everything but the history that the page shows; every part is optional. */
export interface StatusSnapshot {
  /** When it was taken (ms since the epoch). */
  readonly at: number
  readonly tunnel?: StatusTunnelSnapshot | undefined
  readonly health?:
    | {
        readonly status: string
        readonly components: Readonly<Record<string, StatusComponentSnapshot>>
      }
    | undefined
  readonly breakers?: readonly StatusBreakerSnapshot[] | undefined
}

/** Where {@link statusSnapshot} reads the current state. */
export interface StatusSnapshotSources {
  /** The tunnel, or a getter for one created later (a `Tunnel` of `@scanner/tunnel`). */
  readonly tunnel?:
    { status(): StatusTunnelSnapshot } | (() => { status(): StatusTunnelSnapshot } | undefined)
  /** A health instance (`createHealth`): its checks run, or their cached results are read. */
  readonly health?: {
    run(): Promise<{
      readonly status: string
      readonly components: Readonly<Record<string, StatusComponentSnapshot>>
    }>
  }
  /** A breaker registry (`createBreakerRegistry` of `@scanner/circuit-breaker`). */
  readonly breakers?: { stats(): readonly StatusBreakerSnapshot[] }
}

/**
 * Builds the `snapshot` function of {@link createStatusPage} from a tunnel, a health instance
 * and a breaker registry (each optional). A source that throws is left out of that snapshot.
 *
 * @example
 * ```ts
 * const snapshot = statusSnapshot({ tunnel: () => tunnel, health, breakers })
 * const page = createStatusPage({ history, snapshot })
 * ```
 */
export function statusSnapshot(sources: StatusSnapshotSources): () => Promise<StatusSnapshot> {
  return async function snapshot() {
    const at = Date.now()
    const source = typeof sources.tunnel === 'function' ? sources.tunnel() : sources.tunnel
    let tunnel: StatusTunnelSnapshot | undefined
    try {
      tunnel = source?.status()
    } catch {
      tunnel = undefined
    }
    let breakers: readonly StatusBreakerSnapshot[] | undefined
    try {
      breakers = sources.breakers?.stats()
    } catch {
      breakers = undefined
    }
    let health: StatusSnapshot['health']
    try {
      const report = await sources.health?.run()
      health =
        report === undefined ? undefined : { status: report.status, components: report.components }
    } catch {
      health = undefined
    }
    return { at, tunnel, health, breakers }
  }
}
