/**
 * The cloudflared supervisor, `createTunnel()` and `startTunnel()`: a coordinator of
 * cloudflared runs. It owns the restart policies (QUIC timeouts, readiness, probes, DNS, give-up
 * and recovery) and the make-before-break handover; the process engine is `internal/runner.ts`,
 * the options `tunnel/options.ts`, the public types `tunnel/types.ts`, one run's state
 * `tunnel/run-state.ts`, the metrics `tunnel/metrics.ts` and the health check `tunnel/health.ts`.
 */
import { checkNumber, createBackoff, Emitter, invalidOption } from '@scanner/core'
import type { Disposer, Logger } from '@scanner/core'
import { readFileSync } from 'node:fs'
import { buildCloudflaredArgs, forbiddenArg, FORBIDDEN_ARGS } from './args.js'
import type { TunnelProtocol } from './args.js'
import { createLineClassifier } from './classify.js'
import type { CloudflaredEvent } from './classify.js'
import { TunnelError } from './errors.js'
import { RingBuffer } from './internal/lines.js'
import { checkString, checkStringArray } from './internal/options.js'
import {
  decideExit,
  environmentOf,
  FallbackPolicy,
  IncidentWindow,
  PublicProbePolicy,
} from './internal/policy.js'
import type { EnvironmentCause } from './internal/policy.js'
import { findExecutable, freePort, searchPathEnv } from './internal/proc.js'
import { Runner } from './internal/runner.js'
import type { ExitInfo, RunnerPhase } from './internal/runner.js'
import type { StateChangeEvent } from './process-supervisor.js'
import { probeReady, probeUrl } from './readiness.js'
import type { UrlProbeResult } from './readiness.js'
import { defineTunnelMetrics, RESTART_REASONS, STATES } from './tunnel/metrics.js'
import { notFoundError, resolveTunnelOptions, tunnelDefaults } from './tunnel/options.js'
import type { DnsMonitorLike, TunnelKind, TunnelOptions } from './tunnel/options.js'
import { levelMethod, MAX_ERROR_MESSAGE, tokenSecrets } from './tunnel/run-state.js'
import type { RunState } from './tunnel/run-state.js'
import type {
  FailureReason,
  HandoverResult,
  ReplaceOptions,
  RestartReason,
  RestartStrategy,
  Tunnel,
  TunnelErrorLine,
  TunnelEvents,
  TunnelFailure,
  TunnelHandoverEvent,
  TunnelLineEvent,
  TunnelProbeStatus,
  TunnelRestartEvent,
  TunnelState,
  TunnelStatus,
  WaitForReadyOptions,
} from './tunnel/types.js'

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
  readonly #strategy: RestartStrategy
  readonly #handoverReady: number
  readonly #handoverTimeoutMs: number
  readonly #spawnEnv: Readonly<Record<string, string | undefined>>
  #bin: string
  #args: readonly string[]
  /** State of every live cloudflared by pid (the current one, a replica, a retiring one). */
  readonly #runs = new Map<number, RunState>()
  #pendingRun: RunState | undefined
  #handing: { reason: RestartReason; startedAt: number; newPid: number | undefined } | undefined
  #handingPromise: Promise<HandoverResult> | undefined
  /**
   * A restart a detector asked for during a handover (QUIC timeouts of the replica just
   * promoted, say): carried out once the handover ends, if the process it was for is still the
   * current one. Without it the request was lost, and a cloudflared whose fault was seen while
   * a handover finished was never restarted.
   */
  #deferred: { reason: RestartReason; immediate: boolean; pid: number | undefined } | undefined
  /** A break-before-make restart waiting for its first ready connection (to time it). */
  #bbmPending: { reason: RestartReason; since: number; fallback: boolean } | undefined
  #nextRestartFallback = false
  #lastHandover: TunnelHandoverEvent | undefined
  #wakeReplicaWaiter: (() => void) | undefined
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
    const o = resolveTunnelOptions(options)
    const { token, tokenFile, url, configFile, env, gracePeriodMs, killMarginMs } = o
    const { logLevel, transportLogLevel, maxCrashes, pdeathsig, keeper, pidFile } = o
    this.#bin = o.bin
    this.#args = o.args
    this.#spawnEnv = env
    this.#kind = o.kind
    this.#protocol = o.protocol
    this.#strategy = o.restartStrategy
    this.#handoverReady = o.handover.readyConnections
    this.#handoverTimeoutMs = o.handover.timeoutMs
    this.#readyTimeoutMs = o.readyTimeoutMs
    this.#readyPollIntervalMs = o.readyPollIntervalMs
    this.#readyProbeTimeoutMs = o.readyProbeTimeoutMs
    this.#maxAuthFailures = o.maxAuthFailures
    this.#recoveryProbe = o.recoveryProbe
    if (o.quicTimeouts !== undefined) {
      this.#quicThreshold = o.quicTimeouts.threshold
      this.#quic = new IncidentWindow(o.quicTimeouts.threshold, o.quicTimeouts.windowMs)
    }
    this.#fallback =
      o.protocolFallback === undefined
        ? undefined
        : new FallbackPolicy(o.protocolFallback.restarts, o.protocolFallback.windowMs)
    this.#localUrl = o.localUrl
    this.#publicUrl = o.publicUrl
    this.#probeIntervalMs = o.probeIntervalMs
    this.#probeTimeoutMs = o.probeTimeoutMs
    this.#publicPolicy = new PublicProbePolicy(o.publicUrlFailures)
    this.#dns = o.dns
    this.#name = o.name
    const logger = o.logger
    const signal = o.signal

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
    this.#metrics = defineTunnelMetrics(o.metrics)
    this.#setStateMetric()

    const extendEnv = true
    this.#runner = new Runner(
      {
        name: 'cloudflared',
        gracePeriodMs,
        killMarginMs,
        killSignal: 'SIGTERM',
        backoff: createBackoff(o.backoff),
        maxCrashes,
        pidFile,
        pdeathsig,
        keeper,
        maxLineLength: o.maxLineLength,
        outputLines: o.outputLines,
        secrets: this.#secrets,
        log: this.#log,
        notFound: (command) => notFoundError(command),
      },
      {
        plan: async () => {
          const command = findExecutable(this.#bin, searchPathEnv(env))
          if (command === undefined) throw notFoundError(this.#bin)
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
            args: this.#args,
          })
          this.#pendingRun = {
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
          const run = this.#pendingRun
          this.#pendingRun = undefined
          if (run !== undefined) {
            run.notReadySince = Date.now()
            this.#runs.set(child.pid, run)
          }
          this.#events.emit('spawn', {
            pid: child.pid,
            start: child.start,
            args: child.args,
            replica: child.replica,
          })
          if (child.replica) return
          this.#run = run
          this.#backoffReason = undefined
          this.#newCurrent()
        },
        onPromoted: (child) => {
          // The old cloudflared exited during a handover: the replica is the tunnel now.
          this.#run = this.#runs.get(child.pid)
          this.#newCurrent()
          if (this.#run !== undefined) this.#updateReady(this.#run)
          // The handover waiting on this replica learns of it now, not at its next poll.
          this.#wakeReplicaWaiter?.()
        },
        onLine: (line, stream, _truncated, child) => {
          const run = this.#runs.get(child.pid)
          if (run !== undefined) this.#onLine(run, line, stream)
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
        onExited: (info, child, role) => {
          const run = this.#runs.get(child.pid)
          this.#runs.delete(child.pid)
          if (run !== undefined) {
            run.connections = 0
            run.registered.clear()
          }
          // A replica that died ends its handover's wait now.
          if (role === 'replica') this.#wakeReplicaWaiter?.()
          if (role !== 'current') return
          this.#lastExit = info
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
          const fallback = this.#nextRestartFallback
          this.#nextRestartFallback = false
          // Timed from the restart request when there was one (the old one stopping counts).
          if (this.#bbmPending?.reason !== reason) {
            this.#bbmPending = { reason, since: Date.now(), fallback }
          }
          this.#events.emit('restart', {
            strategy: 'break-before-make',
            handoverMs: undefined,
            fallback,
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

  /** Resets what belongs to one cloudflared process when a new one becomes the current one. */
  #newCurrent(): void {
    this.#quic?.clear()
    this.#publicPolicy.reset()
    this.#publicFailing = false
    if (this.#kind === 'quick') this.#url = undefined
    this.#activeProtocol = undefined
    this.#metrics?.ready.set({ tunnel: this.#name }, this.#run?.connections ?? 0)
  }

  // ---- restarts and handovers ------------------------------------------------------------

  /** Whether a restart now can be make-before-break. */
  #canHandOver(): boolean {
    return (
      this.#kind !== 'quick' &&
      this.#strategy === 'make-before-break' &&
      this.#runner.phase === 'up' &&
      this.#runner.child !== undefined &&
      !this.#runner.restarting &&
      !this.#runner.stopping
    )
  }

  /**
   * A restart asked for by a detector (QUIC timeouts, readiness, public URL, DNS): during a
   * handover it is deferred to the handover's end (see `#deferred`) instead of being dropped.
   */
  #requestRestart(reason: RestartReason, immediate: boolean): boolean {
    if (this.#handing === undefined) return this.#restart(reason, immediate)
    if (this.#deferred === undefined) {
      this.#deferred = { reason, immediate, pid: this.#runner.child?.pid }
      // Debug: most are for the process the handover replaces, and are dropped at its end.
      this.#log.debug(
        { reason, pid: this.#deferred.pid },
        'restart requested during a handover: considered again once it ends',
      )
    }
    return true
  }

  /** Carries out the restart deferred during a handover, if it still concerns the current process. */
  #runDeferred(): void {
    const deferred = this.#deferred
    this.#deferred = undefined
    if (deferred === undefined || this.#runner.stopping) return
    // Gone, or being replaced already (a handover that fell back restarts it break-before-make).
    if (deferred.pid !== this.#runner.child?.pid || this.#runner.restarting) {
      this.#log.debug(
        { reason: deferred.reason, pid: deferred.pid },
        'deferred restart dropped: the process it was for is gone',
      )
      return
    }
    this.#restart(deferred.reason, deferred.immediate)
  }

  /** Restarts the running cloudflared: make-before-break where it can, else break-before-make. */
  #restart(reason: RestartReason, immediate: boolean): boolean {
    if (this.#handing !== undefined) return false
    if (this.#canHandOver()) {
      this.#handingPromise = this.#handover(reason)
      return true
    }
    const since = Date.now()
    const restarting = this.#runner.restart(reason, immediate)
    if (restarting) this.#bbmPending = { reason, since, fallback: false }
    return restarting
  }

  #emitHandover(event: TunnelHandoverEvent): void {
    if (event.phase === 'completed' || event.phase === 'fallback') this.#lastHandover = event
    this.#events.emit('handover', event)
  }

  /** Times a break-before-make restart once its new cloudflared is ready. */
  #completeBreakBeforeMake(newPid: number | undefined): void {
    const pending = this.#bbmPending
    if (pending === undefined) return
    this.#bbmPending = undefined
    const handoverMs = Date.now() - pending.since
    this.#metrics?.handover.observe(
      { tunnel: this.#name, strategy: 'break-before-make' },
      handoverMs / 1000,
    )
    this.#emitHandover({
      phase: 'completed',
      strategy: 'break-before-make',
      reason: pending.reason,
      oldPid: undefined,
      newPid,
      handoverMs,
      message: undefined,
    })
  }

  async #handover(reason: RestartReason): Promise<HandoverResult> {
    const oldPid = this.#runner.child?.pid
    const startedAt = Date.now()
    const handing = { reason, startedAt, newPid: undefined as number | undefined }
    this.#handing = handing
    this.#log.info({ reason, pid: oldPid }, 'restart: starting a replica (make-before-break)')
    this.#emitHandover({
      phase: 'started',
      strategy: 'make-before-break',
      reason,
      oldPid,
      newPid: undefined,
      handoverMs: undefined,
      message: undefined,
    })
    try {
      const child = await this.#runner.spawnReplica()
      const run = child === undefined ? undefined : this.#runs.get(child.pid)
      if (child === undefined || run === undefined) {
        if (this.#runner.stopping)
          return { strategy: 'make-before-break', fallback: false, handoverMs: undefined }
        return this.#fallBack(reason, oldPid, undefined, 'the replica could not be started')
      }
      handing.newPid = child.pid
      this.#refresh()
      const verdict = await this.#waitForReplica(
        child.pid,
        run,
        startedAt + this.#handoverTimeoutMs,
      )
      if (verdict === 'stopped') {
        return { strategy: 'make-before-break', fallback: false, handoverMs: undefined }
      }
      if (verdict !== 'ready' && verdict !== 'promoted') {
        await this.#runner.discardReplica()
        if (this.#runner.stopping) {
          return { strategy: 'make-before-break', fallback: false, handoverMs: undefined }
        }
        return this.#fallBack(reason, oldPid, child.pid, verdict)
      }
      this.#emitHandover({
        phase: 'ready',
        strategy: 'make-before-break',
        reason,
        oldPid,
        newPid: child.pid,
        handoverMs: undefined,
        message: undefined,
      })
      if (verdict === 'ready') {
        const retired = this.#runner.promote()
        this.#run = run
        this.#newCurrent()
        this.#updateReady(run)
        await retired
      }
      const handoverMs = Date.now() - startedAt
      this.#restarts++
      this.#byReason[reason] = (this.#byReason[reason] ?? 0) + 1
      this.#metrics?.restarts.inc({ tunnel: this.#name, reason })
      this.#metrics?.handover.observe(
        { tunnel: this.#name, strategy: 'make-before-break' },
        handoverMs / 1000,
      )
      this.#log.info(
        { reason, pid: child.pid, oldPid, handoverMs },
        'handover complete (make-before-break)',
      )
      this.#events.emit('restart', {
        reason,
        delayMs: 0,
        exitCode: null,
        signal: null,
        pid: oldPid,
        protocol: this.#currentProtocol(),
        cause: undefined,
        strategy: 'make-before-break',
        handoverMs,
        fallback: false,
      })
      this.#emitHandover({
        phase: 'completed',
        strategy: 'make-before-break',
        reason,
        oldPid,
        newPid: child.pid,
        handoverMs,
        message: undefined,
      })
      return { strategy: 'make-before-break', fallback: false, handoverMs }
    } finally {
      if (this.#handing === handing) {
        this.#handing = undefined
        this.#runDeferred()
      }
      this.#refresh()
    }
  }

  /**
   * Waits for the replica to report `handover.readyConnections` on `/ready` (or registration
   * lines while its metrics server does not answer). Returns `ready`, `promoted` (the old one
   * exited and the replica took over), `stopped`, or why it gave up.
   */
  async #waitForReplica(pid: number, run: RunState, deadline: number): Promise<string> {
    for (;;) {
      if (this.#runner.stopping) return 'stopped'
      if (this.#runner.child?.pid === pid) return 'promoted'
      if (this.#runner.replica?.pid !== pid) return 'the replica exited before it was ready'
      if (run.connections >= this.#handoverReady) return 'ready'
      if (Date.now() > deadline) {
        return `the replica had ${String(run.connections)} of ${String(this.#handoverReady)} ready connections after ${String(this.#handoverTimeoutMs)} ms`
      }
      const result = await probeReady(run.metricsAddress, {
        timeoutMs: this.#readyProbeTimeoutMs,
        signal: this.#probeAbort.signal,
      })
      if (this.#runner.replica?.pid === pid) {
        run.connections =
          result.status === undefined ? run.registered.size : result.readyConnections
        if (run.connections >= this.#handoverReady) {
          run.everReady = true
          this.#runner.markReplicaReady()
          continue
        }
      }
      // The next poll, or sooner when the replica prints a registration.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wakeReplicaWaiter = undefined
          resolve()
        }, this.#readyPollIntervalMs)
        timer.unref()
        this.#wakeReplicaWaiter = () => {
          clearTimeout(timer)
          this.#wakeReplicaWaiter = undefined
          resolve()
        }
      })
    }
  }

  #fallBack(
    reason: RestartReason,
    oldPid: number | undefined,
    newPid: number | undefined,
    message: string,
  ): HandoverResult {
    this.#log.warn(
      { reason, message },
      'make-before-break handover failed: restarting break-before-make',
    )
    this.#emitHandover({
      phase: 'fallback',
      strategy: 'break-before-make',
      reason,
      oldPid,
      newPid,
      handoverMs: undefined,
      message,
    })
    this.#nextRestartFallback = true
    if (this.#runner.restart(reason, true)) {
      this.#bbmPending = { reason, since: Date.now(), fallback: true }
    } else this.#nextRestartFallback = false
    return { strategy: 'break-before-make', fallback: true, handoverMs: undefined }
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

  #onLine(run: RunState, line: string, stream: 'stdout' | 'stderr'): void {
    // Only the current cloudflared drives the policies; a replica being brought up or one
    // being retired is logged and tracks its own connections.
    const current = run === this.#run
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
    if (event.failure === true && current) {
      this.#lastErrors.push({
        time: event.time ?? new Date().toISOString(),
        kind: event.kind,
        message: line.length > MAX_ERROR_MESSAGE ? line.slice(0, MAX_ERROR_MESSAGE) + '…' : line,
      })
    }
    switch (event.kind) {
      case 'connection-registered': {
        run.registered.add(event.connIndex ?? 0)
        if (current) this.#authFailures = 0
        if (event.protocol !== undefined && current) this.#activeProtocol = event.protocol
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
        if (current && event.incidentStart === true && event.failure !== false) {
          this.#quicIncident(event)
        }
        break
      case 'auth-failure':
        if (event.usage === true || event.fatal === true) {
          if (/token/i.test(line)) run.invalidToken = true
        } else if (
          event.failure === true &&
          current &&
          // Once given up, lines the dying process still prints change nothing.
          this.#authFailures < this.#maxAuthFailures
        ) {
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
        if (current && event.url !== undefined && event.url !== this.#url) {
          this.#url = event.url
          this.#log.info({ url: event.url }, 'quick tunnel URL')
          this.#events.emit('url', { url: event.url })
        }
        break
      case 'dns-failure':
        if (event.failure === true && current)
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
    if (this.#requestRestart('quic-timeouts', false)) {
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
    if (run !== this.#run) {
      // A replica: readiness decides the handover, not the tunnel's state.
      if (ready && !run.everReady) {
        run.everReady = true
        this.#runner.markReplicaReady()
      }
      this.#wakeReplicaWaiter?.()
      return
    }
    this.#metrics?.ready.set({ tunnel: this.#name }, run.connections)
    if (ready && !run.everReady) {
      run.everReady = true
      this.#recoveryProbes = 0
      this.#runner.markReady()
      this.#completeBreakBeforeMake(this.#runner.child?.pid)
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
        this.#requestRestart('not-ready', false)
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
        this.#requestRestart('public-url', false)
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
          this.#requestRestart('dns', true)
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
    return this.#restart('manual', true)
  }

  async replace(options: ReplaceOptions): Promise<HandoverResult> {
    if (typeof options !== 'object' || options === null) {
      throw invalidOption('options', 'an object', options)
    }
    const bin = checkString('bin', options.bin)
    const args = options.args === undefined ? undefined : checkStringArray('args', options.args)
    if (args !== undefined) {
      const bad = forbiddenArg(args)
      if (bad !== undefined) {
        throw invalidOption('args', `no ${bad} (${FORBIDDEN_ARGS[bad] ?? 'not allowed'})`, bad)
      }
    }
    if (this.#stopRequested) {
      throw new TunnelError('ERR_TUNNEL_STOPPED', 'the tunnel was stopped; create a new one')
    }
    if (bin !== undefined && findExecutable(bin, searchPathEnv(this.#spawnEnv)) === undefined) {
      throw notFoundError(bin)
    }
    // One handover at a time: a replace() during one waits for it, then hands over again.
    while (this.#handingPromise !== undefined && this.#handing !== undefined) {
      await this.#handingPromise.catch(() => undefined)
    }
    if (bin !== undefined) this.#bin = bin
    if (args !== undefined) this.#args = args
    this.#log.info({ bin: this.#bin, args: this.#args }, 'replacing cloudflared')
    if (this.#canHandOver()) {
      const handover = this.#handover('replace')
      this.#handingPromise = handover
      return handover
    }
    // Quick tunnels and break-before-make; not running: the new values apply at the next start.
    if (this.#runner.phase === 'up') this.#runner.restart('replace', true)
    return { strategy: 'break-before-make', fallback: false, handoverMs: undefined }
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
      replicas: this.#runner.children().map(({ child: c, role }) => {
        const r = this.#runs.get(c.pid)
        return {
          pid: c.pid,
          role: role === 'current' ? 'active' : role === 'replica' ? 'starting' : 'retiring',
          startedAt: new Date(c.startedAt).toISOString(),
          readyConnections: r?.connections ?? 0,
          metricsAddress: r?.metricsAddress,
        }
      }),
      handover:
        this.#handing === undefined
          ? undefined
          : {
              reason: this.#handing.reason,
              startedAt: new Date(this.#handing.startedAt).toISOString(),
              newPid: this.#handing.newPid,
            },
      lastHandover: this.#lastHandover,
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

/**
 * Creates a cloudflared supervisor (not started: call `start()`). It runs cloudflared with
 * `child_process.spawn()` (no shell, `--no-autoupdate`, the token only in `TUNNEL_TOKEN`,
 * `--metrics` on a loopback port it chose), restarts it with backoff, detects QUIC timeouts,
 * dead tunnels and DNS trouble, gives up on errors a restart cannot fix, and stops it with
 * nothing left behind.
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
