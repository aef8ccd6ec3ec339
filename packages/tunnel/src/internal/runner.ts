/**
 * The process engine shared by `createProcessSupervisor()` and `createTunnel()`: spawns one child
 * at a time with `child_process.spawn()` (own process group, `setpriv --pdeathsig` where
 * available, pid file), reads its output line by line with bounded memory, restarts it with
 * backoff, stops it gracefully (SIGTERM, grace period + margin, then SIGKILL of the whole group)
 * and leaves nothing running. Policies (why to restart, when to give up) belong to the callers,
 * through hooks.
 */
import type { Backoff, Logger } from '@scanner/core'
import type { Readable } from 'node:stream'
import { TunnelError } from '../errors.js'
import { createLineSplitter, RingBuffer, scrub } from './lines.js'
import { spawn, type ChildProcess } from 'node:child_process'
import {
  bootId,
  killGroup,
  killPid,
  procStartTime,
  reapStale,
  removePidFile,
  setprivPath,
  startKeeper,
  stopKeeper,
  writePidFile,
} from './proc.js'
import type { PidProcess } from './proc.js'

/** Lifecycle phase of the runner; the supervisors derive their public state from it. */
export type RunnerPhase = 'idle' | 'starting' | 'up' | 'backoff' | 'stopping' | 'stopped' | 'failed'

/** What to spawn for one run. */
export interface SpawnPlan {
  readonly command: string
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string | undefined>>
  readonly extendEnv: boolean
  readonly cwd?: string | undefined
}

/** The running child. */
export interface ChildInfo {
  readonly pid: number
  readonly startedAt: number
  readonly args: readonly string[]
  /** 1 for the first start, then one more per start. */
  readonly start: number
  /** Started as a replica next to the current child (make-before-break handover). */
  readonly replica: boolean
}

/** Role of a live child: the current one, a replica being brought up, or one being retired. */
export type ChildRole = 'current' | 'replica' | 'retiring'

/** How a child ended. */
export interface ExitInfo {
  readonly pid: number | undefined
  readonly exitCode: number | null
  readonly signal: string | null
  readonly durationMs: number
  readonly becameReady: boolean
}

/** What to do after an unexpected exit. */
export type ExitDecision =
  | {
      readonly action: 'restart'
      readonly reason: string
      /** Restart at once, without backoff. */
      readonly immediate?: boolean
      /** Counts toward the crash loop when the run never became ready. @default true */
      readonly crash?: boolean
      /** What outside the child made it exit (an environmental cause), passed to onRestart. */
      readonly cause?: string
    }
  | { readonly action: 'fail'; readonly reason: string; readonly message: string }
  | { readonly action: 'done' }

/** A restart about to happen. */
export interface RunnerRestart {
  readonly reason: string
  readonly delayMs: number
  readonly exitCode: number | null
  readonly signal: string | null
  readonly pid: number | undefined
  /** The environmental cause of the exit, when the caller named one. */
  readonly cause?: string | undefined
}

/** Why the runner gave up. */
export interface RunnerFailure {
  readonly reason: string
  readonly message: string
  readonly at: number
  readonly lastLines: readonly string[]
}

export interface RunnerHooks {
  plan(): Promise<SpawnPlan>
  onSpawn?(child: ChildInfo): void
  onLine(line: string, stream: 'stdout' | 'stderr', truncated: boolean, child: ChildInfo): void
  onExit(info: ExitInfo): ExitDecision
  onPhase(phase: RunnerPhase): void
  onRestart?(restart: RunnerRestart): void
  onFail?(failure: RunnerFailure): void
  /** Every exit, with the role the child had (a replica's or retired child's exit is quiet). */
  onExited?(info: ExitInfo, child: ChildInfo, role: ChildRole): void
  /** The current child exited during a handover and the replica took its place. */
  onPromoted?(child: ChildInfo): void
  /** When true, a due restart waits (another backoff delay) instead of spawning. */
  holdRestarts?(): boolean
}

export interface RunnerOptions {
  readonly name: string
  readonly gracePeriodMs: number
  readonly killMarginMs: number
  readonly killSignal: NodeJS.Signals
  readonly backoff: Backoff
  readonly maxCrashes: number
  readonly pidFile: string | undefined
  readonly pdeathsig: boolean
  /** Start a keeper that kills the group when this process dies (see startKeeper). */
  readonly keeper: boolean
  readonly maxLineLength: number
  readonly outputLines: number
  readonly secrets: readonly string[]
  readonly log: Logger
  /** Error code and hint for a missing binary. */
  readonly notFound: (command: string) => TunnelError
}

interface Run {
  readonly info: ChildInfo
  role: ChildRole
  readonly command: string
  exited: boolean
  ready: boolean
  restart: { reason: string; immediate: boolean } | undefined
  killTimer: NodeJS.Timeout | undefined
  keeper: ChildProcess | undefined
  readonly done: Promise<void>
}

const STREAM_CLOSE_WAIT_MS = 500
/** Longest secret read past the line limit for redaction (a token file is at most 64 KB). */
const MAX_OVERSCAN = 65_536

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/** See the module comment. */
export class Runner {
  readonly #options: RunnerOptions
  readonly #hooks: RunnerHooks
  readonly #output: RingBuffer<string>
  #phase: RunnerPhase = 'idle'
  #current: Run | undefined
  #replica: Run | undefined
  readonly #live = new Set<Run>()
  #starts = 0
  #crashes = 0
  /** Cancels the pending (re)start (a timer, or an immediate for a zero delay), if any. */
  #cancelStart: (() => void) | undefined
  #stopping = false
  /** stop() was called: nothing may revive the runner. */
  #stopped = false
  #stopPromise: Promise<void> | undefined
  #startPromise: Promise<void> | undefined
  #failure: RunnerFailure | undefined
  #nextStartAt: number | undefined
  #spawning: Promise<void> | undefined
  /** Process groups in the pid file, and the chain of its writes (in order, awaited). */
  readonly #pidProcesses = new Map<number, PidProcess>()
  #pidWrites: Promise<void> = Promise.resolve()

  constructor(options: RunnerOptions, hooks: RunnerHooks) {
    this.#options = options
    this.#hooks = hooks
    this.#output = new RingBuffer(options.outputLines)
  }

  get phase(): RunnerPhase {
    return this.#phase
  }
  get child(): ChildInfo | undefined {
    const run = this.#current
    return run === undefined || run.exited ? undefined : run.info
  }
  get ready(): boolean {
    return this.#current?.ready ?? false
  }
  get failure(): RunnerFailure | undefined {
    return this.#failure
  }
  get starts(): number {
    return this.#starts
  }
  get crashes(): number {
    return this.#crashes
  }
  get nextStartAt(): number | undefined {
    return this.#phase === 'backoff' ? this.#nextStartAt : undefined
  }
  get stopping(): boolean {
    return this.#stopping
  }
  /** The current child is being stopped for a restart (see {@link restart}). */
  get restarting(): boolean {
    const run = this.#current
    return run !== undefined && !run.exited && run.restart !== undefined
  }
  lastLines(): string[] {
    return this.#output.toArray()
  }

  #setPhase(phase: RunnerPhase): void {
    if (this.#phase === phase) return
    this.#phase = phase
    this.#hooks.onPhase(phase)
  }

  /** Starts the first child; resolves once it is spawned, rejects when it cannot be. */
  start(): Promise<void> {
    if (this.#failure !== undefined && this.#startPromise) {
      return this.#startPromise.then(() => {
        throw new TunnelError(
          'ERR_TUNNEL_FAILED',
          `${this.#options.name} failed: ${this.#failure?.message ?? ''}`,
          {
            reason: this.#failure?.reason,
            lastLines: this.#failure?.lastLines,
          },
        )
      })
    }
    if (this.#stopping) {
      return Promise.reject(
        new TunnelError(
          'ERR_TUNNEL_STOPPED',
          `${this.#options.name} was stopped; create a new one`,
        ),
      )
    }
    if (this.#startPromise) return this.#startPromise
    this.#setPhase('starting')
    this.#startPromise = (async () => {
      const { pidFile } = this.#options
      if (pidFile !== undefined) {
        const outcome = await reapStale(pidFile).catch(() => ({ action: 'none' }) as const)
        if (outcome.action === 'killed') {
          this.#options.log.warn(
            { pids: outcome.pids, pidFile },
            'killed a stale process group left by an earlier supervisor',
          )
        } else if (outcome.action === 'kept') {
          this.#options.log.warn(
            { pid: outcome.pid, pidFile, why: outcome.why },
            'a process from the pid file is still running; leaving it alone',
          )
        }
      }
      await this.#spawn(true)
    })()
    return this.#startPromise
  }

  /** Marks the current run ready (resets the crash-loop count). */
  markReady(): void {
    const run = this.#current
    if (run === undefined || run.exited || run.ready) return
    run.ready = true
    this.#crashes = 0
  }

  async #spawn(first: boolean, replica = false): Promise<void> {
    if (!replica) this.#cancelStart = undefined
    if (this.#stopping) return
    if (!replica) this.#setPhase('starting')
    let plan: SpawnPlan
    try {
      plan = await this.#hooks.plan()
    } catch (error) {
      if (replica) {
        this.#options.log.warn({ err: error }, `cannot prepare a ${this.#options.name} replica`)
        return
      }
      const err =
        error instanceof TunnelError
          ? error
          : new TunnelError('ERR_TUNNEL_SPAWN', `cannot prepare ${this.#options.name}`, {
              cause: error,
            })
      this.#failNow(
        err.code === 'ERR_TUNNEL_BIN_NOT_FOUND' ? 'binary-not-found' : 'spawn-error',
        err.message,
      )
      if (first) throw err
      return
    }
    if (this.#stopping) return
    let command = plan.command
    let args = [...plan.args]
    const setpriv = this.#options.pdeathsig ? setprivPath() : undefined
    if (setpriv !== undefined) {
      args = ['--pdeathsig', 'SIGKILL', '--', command, ...args]
      command = setpriv
    }
    const unix = process.platform !== 'win32'
    // node:child_process, not execa: this child is long-lived and only streamed, and execa's
    // per-spawn setup (option handling, result promise, stream wrappers, signal-exit cleanup) cost
    // about 1 ms of every restart's gap (issue 17); what execa's `cleanup` did, the keeper and
    // `setpriv --pdeathsig` do for any death of this process, not only a graceful exit.
    const subprocess = spawn(command, args, {
      env: plan.extendEnv ? { ...process.env, ...plan.env } : plan.env,
      ...(plan.cwd === undefined ? {} : { cwd: plan.cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: unix,
      windowsHide: true,
    })
    const spawnError = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      subprocess.once('spawn', () => {
        resolve(undefined)
      })
      subprocess.once('error', (error) => {
        resolve(error)
      })
    })
    // Later errors (a failed kill, say) must not go unhandled: that would crash the host.
    subprocess.on('error', (error) => {
      this.#options.log.debug({ err: error, pid: subprocess.pid }, `${this.#options.name} error`)
    })
    const pid = subprocess.pid
    if (replica && (spawnError !== undefined || pid === undefined)) {
      this.#options.log.warn(
        { err: spawnError, command: plan.command },
        `cannot start a ${this.#options.name} replica`,
      )
      return
    }
    if (spawnError !== undefined || pid === undefined) {
      const code = spawnError?.code
      const err =
        code === 'ENOENT' || code === 'EACCES'
          ? this.#options.notFound(plan.command)
          : new TunnelError(
              'ERR_TUNNEL_SPAWN',
              `cannot start ${this.#options.name} (${plan.command}): ${spawnError?.message ?? 'no pid'}`,
              { cause: spawnError },
            )
      this.#failNow(
        code === 'ENOENT' || code === 'EACCES' ? 'binary-not-found' : 'spawn-error',
        err.message,
      )
      if (first) throw err
      return
    }

    this.#starts++
    const info: ChildInfo = {
      pid,
      startedAt: Date.now(),
      args: plan.args,
      start: this.#starts,
      replica,
    }
    let resolveDone!: () => void
    const run: Run = {
      info,
      role: replica ? 'replica' : 'current',
      command: plan.command,
      exited: false,
      ready: false,
      restart: undefined,
      killTimer: undefined,
      // Started below, once the supervisor knows of the child (see startKeeper).
      keeper: undefined,
      done: new Promise<void>((resolve) => {
        resolveDone = resolve
      }),
    }
    if (replica) this.#replica = run
    else this.#current = run
    this.#live.add(run)

    const closed: Promise<void>[] = []
    const read = (stream: Readable | null, name: 'stdout' | 'stderr'): void => {
      if (stream === null) return
      // Redacted before it is cut, so no piece of a secret survives the line limit.
      const splitter = createLineSplitter(
        (line, truncated) => {
          this.#line(line, name, truncated, info)
        },
        this.#options.maxLineLength,
        { redact: (line) => scrub(line, this.#options.secrets), overscan: this.#overscan },
      )
      stream.on('data', (chunk: Buffer) => {
        splitter.push(chunk)
      })
      stream.on('error', () => undefined)
      closed.push(
        new Promise<void>((resolve) => {
          stream.once('close', () => {
            splitter.end()
            resolve()
          })
        }),
      )
    }
    read(subprocess.stderr, 'stderr')
    read(subprocess.stdout, 'stdout')

    subprocess.once('exit', (exitCode, signal) => {
      void this.#exited(run, exitCode, signal, closed).finally(resolveDone)
    })

    this.#pidProcesses.set(pid, {
      pid,
      pgid: pid,
      startTime: procStartTime(pid),
      command: plan.command,
    })
    // Queued now, awaited last: the supervisor learns of the child before this function yields,
    // so no line it prints can arrive first, and a restart is not held up by the disk.
    const saved = this.#savePidFile()
    this.#options.log.info(
      {
        pid,
        start: info.start,
        command: plan.command,
        args: plan.args,
        pdeathsig: setpriv !== undefined,
        replica,
      },
      `${this.#options.name} started`,
    )
    // The supervisor learns of the new process before the phase turns `up`: its state is then
    // computed from the new run (`starting`), not the last one's (`degraded` for a moment).
    this.#hooks.onSpawn?.(info)
    if (!replica && !run.exited) this.#setPhase('up')
    // Kills the group if this process dies without stopping it. Forked in the same turn of the
    // event loop as the child, after the supervisor learnt of it: the restart does not wait on it.
    if (unix && this.#options.keeper) run.keeper = startKeeper(pid)
    if (this.#stopping) void this.#terminate(run)
    await saved
  }

  /**
   * Writes the pid file with every live process group (removes it when none is left). Writes
   * run one after the other, so a quick exit's removal never lands before its own write.
   */
  #savePidFile(): Promise<void> {
    const path = this.#options.pidFile
    if (path === undefined) return Promise.resolve()
    const processes = [...this.#pidProcesses.values()]
    this.#pidWrites = this.#pidWrites
      .then(() =>
        processes.length === 0
          ? removePidFile(path)
          : writePidFile(path, {
              owner: process.pid,
              ownerStartTime: procStartTime(process.pid),
              bootId: bootId(),
              processes,
            }),
      )
      .catch((error: unknown) => {
        this.#options.log.warn({ err: error, pidFile: path }, 'cannot write the pid file')
      })
    return this.#pidWrites
  }

  /** Bytes a line is read past the limit: the longest secret (redacted before the cut). */
  get #overscan(): number {
    let longest = 0
    for (const secret of this.#options.secrets) {
      longest = Math.max(longest, Buffer.byteLength(secret))
    }
    return Math.min(longest, MAX_OVERSCAN)
  }

  /** One line of output, already redacted and cut by its splitter. */
  #line(line: string, stream: 'stdout' | 'stderr', truncated: boolean, child: ChildInfo): void {
    this.#output.push(line)
    this.#hooks.onLine(line, stream, truncated, child)
  }

  async #exited(
    run: Run,
    exitCode: number | null,
    signal: string | null,
    closed: Promise<void>[],
  ): Promise<void> {
    run.exited = true
    // Nothing of the group may outlive the main process (helpers, grandchildren).
    killGroup(run.info.pid, 'SIGKILL')
    stopKeeper(run.keeper)
    await Promise.race([Promise.all(closed), delay(STREAM_CLOSE_WAIT_MS)])
    if (run.killTimer) clearTimeout(run.killTimer)
    this.#pidProcesses.delete(run.info.pid)
    await this.#savePidFile()
    this.#live.delete(run)
    const role = run.role
    if (this.#current === run) this.#current = undefined
    if (this.#replica === run) this.#replica = undefined
    const info: ExitInfo = {
      pid: run.info.pid,
      exitCode,
      signal,
      durationMs: Date.now() - run.info.startedAt,
      becameReady: run.ready,
    }
    this.#options.log.info(
      { pid: info.pid, exitCode, signal, durationMs: info.durationMs, role },
      `${this.#options.name} exited`,
    )
    this.#hooks.onExited?.(info, run.info, role)
    // A replica or a retired child ends quietly: the current child decides what happens next.
    if (role !== 'current') return
    if (this.#stopping) return
    const successor = this.#replica
    if (successor !== undefined && !successor.exited) {
      // The old child died during a handover: its replica takes over at once.
      this.#replica = undefined
      successor.role = 'current'
      this.#current = successor
      this.#options.log.warn(
        { pid: info.pid, replica: successor.info.pid },
        `${this.#options.name} exited during a handover; its replica takes over`,
      )
      if (successor.ready) this.#crashes = 0
      this.#setPhase('up')
      this.#hooks.onPromoted?.(successor.info)
      return
    }
    const backoff = this.#options.backoff
    // Only a run that became ready can be stable enough to reset the backoff.
    if (info.becameReady) backoff.recordRun(info.durationMs)
    if (run.restart !== undefined) {
      const delayMs = run.restart.immediate ? 0 : backoff.next()
      this.#scheduleRestart({
        reason: run.restart.reason,
        delayMs,
        exitCode,
        signal,
        pid: info.pid,
      })
      return
    }
    const decision = this.#hooks.onExit(info)
    if (decision.action === 'done') {
      this.#setPhase('stopped')
      return
    }
    if (decision.action === 'fail') {
      this.#failNow(decision.reason, decision.message)
      return
    }
    if (decision.crash !== false && !info.becameReady) {
      this.#crashes++
      if (this.#crashes >= this.#options.maxCrashes) {
        this.#failNow(
          'crash-loop',
          `${this.#options.name} exited ${this.#crashes} times in a row without becoming ready (last exit code ${String(exitCode)}, signal ${String(signal)})`,
        )
        return
      }
    }
    const delayMs = decision.immediate === true ? 0 : backoff.next()
    this.#scheduleRestart({
      reason: decision.reason,
      delayMs,
      exitCode,
      signal,
      pid: info.pid,
      cause: decision.cause,
    })
  }

  #scheduleRestart(restart: RunnerRestart): void {
    this.#hooks.onRestart?.(restart)
    this.#options.log.warn(
      {
        reason: restart.reason,
        delayMs: restart.delayMs,
        exitCode: restart.exitCode,
        signal: restart.signal,
      },
      `restarting ${this.#options.name}`,
    )
    this.#schedule(restart.delayMs)
  }

  #schedule(delayMs: number): void {
    if (this.#stopping) return
    this.#clearTimer()
    this.#nextStartAt = Date.now() + delayMs
    this.#setPhase(delayMs > 0 ? 'backoff' : 'starting')
    const start = (): void => {
      this.#cancelStart = undefined
      if (this.#hooks.holdRestarts?.() === true) {
        const wait = Math.max(this.#options.backoff.next(), 100)
        this.#options.log.warn({ delayMs: wait }, `restart of ${this.#options.name} on hold`)
        this.#schedule(wait)
        return
      }
      this.#spawning = this.#spawn(false)
        .catch(() => undefined)
        .finally(() => {
          this.#spawning = undefined
        })
    }
    // No delay: the next turn of the event loop (a 0 ms timer waits at least 1 ms).
    if (delayMs > 0) {
      const timer = setTimeout(start, delayMs)
      timer.unref()
      this.#cancelStart = () => {
        clearTimeout(timer)
      }
    } else {
      const immediate = setImmediate(start)
      immediate.unref()
      this.#cancelStart = () => {
        clearImmediate(immediate)
      }
    }
  }

  /** Starts now when waiting in backoff (used when a hold ends). */
  resume(): void {
    if (this.#phase !== 'backoff' || this.#stopping || this.#cancelStart === undefined) return
    this.#options.backoff.reset()
    this.#schedule(0)
  }

  /**
   * Leaves `failed` and starts again with a fresh crash budget and backoff (used when the cause
   * of a give-up may have cleared). False when not failed, when stop() was called, or while a
   * child is still stopping.
   */
  revive(): boolean {
    if (this.#phase !== 'failed' || this.#stopped) return false
    if (this.#current !== undefined && !this.#current.exited) return false
    this.#failure = undefined
    this.#stopping = false
    this.#stopPromise = undefined
    this.#crashes = 0
    this.#options.backoff.reset()
    this.#options.log.warn({}, `starting ${this.#options.name} again after giving up`)
    this.#schedule(0)
    return true
  }

  /** The replica being brought up, if any. */
  get replica(): ChildInfo | undefined {
    const run = this.#replica
    return run === undefined || run.exited ? undefined : run.info
  }

  /** Every live child with its role. */
  children(): { readonly child: ChildInfo; readonly role: ChildRole }[] {
    return [...this.#live].filter((r) => !r.exited).map((r) => ({ child: r.info, role: r.role }))
  }

  /**
   * Starts a replica next to the running child (make-before-break). Resolves with it, or
   * undefined when none could start (not up, stopping, a replica already exists, spawn error).
   */
  async spawnReplica(): Promise<ChildInfo | undefined> {
    if (this.#stopping || this.#phase !== 'up' || this.#replica !== undefined) return undefined
    const spawning = this.#spawn(false, true).catch(() => undefined)
    this.#spawning = spawning
    await spawning
    if (this.#spawning === spawning) this.#spawning = undefined
    return this.replica
  }

  /**
   * Makes the replica the current child and stops the old one gracefully (SIGTERM, grace
   * period, then SIGKILL of its group). Resolves once the old one is gone; undefined when there
   * is no live replica.
   */
  promote(): Promise<void> | undefined {
    const successor = this.#replica
    if (successor === undefined || successor.exited || this.#stopping) return undefined
    const old = this.#current
    this.#replica = undefined
    successor.role = 'current'
    this.#current = successor
    if (successor.ready) this.#crashes = 0
    this.#setPhase('up')
    if (old === undefined) return Promise.resolve()
    // Retired even when it already exited: its exit may still be being handled (streams closing,
    // the pid file), and that handling must see a retired child, not the current one. Seen as
    // current, its SIGKILL read as a crash of the tunnel and restarted the replica just promoted.
    old.role = 'retiring'
    if (old.exited) return Promise.resolve()
    this.#options.log.info(
      { pid: old.info.pid, replica: successor.info.pid },
      `handing over to the new ${this.#options.name}; stopping the old one`,
    )
    return this.#terminate(old)
  }

  /** Marks the replica ready (for the crash count once promoted). */
  markReplicaReady(): void {
    if (this.#replica !== undefined) this.#replica.ready = true
  }

  /** Stops the replica quietly (a handover that failed). Resolves once it is gone. */
  discardReplica(): Promise<void> {
    const run = this.#replica
    if (run === undefined) return Promise.resolve()
    return this.#terminate(run)
  }

  /**
   * Requests a restart: the current child is stopped gracefully, then a new one starts (at once
   * when `immediate`, else after the backoff). Returns false when nothing was done.
   */
  restart(reason: string, immediate: boolean): boolean {
    if (this.#stopping || this.#phase === 'failed' || this.#phase === 'idle') return false
    const run = this.#current
    if (run === undefined || run.exited) {
      if (this.#phase === 'backoff' && this.#cancelStart !== undefined) {
        this.#hooks.onRestart?.({
          reason,
          delayMs: 0,
          exitCode: null,
          signal: null,
          pid: undefined,
        })
        this.#schedule(0)
        return true
      }
      return false
    }
    if (run.restart !== undefined) return false
    run.restart = { reason, immediate }
    this.#options.log.warn(
      { reason, pid: run.info.pid },
      `stopping ${this.#options.name} to restart it`,
    )
    void this.#terminate(run)
    return true
  }

  /** Gives up: stops the child (gracefully) and enters `failed`. */
  fail(reason: string, message: string): Promise<void> {
    if (this.#stopping) return this.#stopPromise ?? Promise.resolve()
    this.#stopping = true
    this.#clearTimer()
    this.#stopPromise = (async () => {
      await this.#spawning
      const run = this.#current
      if (run !== undefined && !run.exited) this.#setPhase('stopping')
      await Promise.all([...this.#live].map((r) => this.#terminate(r)))
      if (run !== undefined) await run.done
      this.#failNow(reason, message)
    })()
    return this.#stopPromise
  }

  #failNow(reason: string, message: string): void {
    this.#stopping = true
    this.#clearTimer()
    if (this.#failure === undefined) {
      this.#failure = { reason, message, at: Date.now(), lastLines: this.lastLines() }
      this.#options.log.error(
        { reason, lastLines: this.#failure.lastLines },
        `${this.#options.name} failed: ${message}`,
      )
      this.#hooks.onFail?.(this.#failure)
      this.#setPhase('failed')
    }
  }

  #clearTimer(): void {
    this.#cancelStart?.()
    this.#cancelStart = undefined
  }

  /** SIGTERM the child, SIGKILL its group after grace + margin; resolves after exit handling. */
  #terminate(run: Run): Promise<void> {
    if (run.exited) return run.done
    if (run.killTimer === undefined) {
      killPid(run.info.pid, this.#options.killSignal)
      run.killTimer = setTimeout(() => {
        this.#options.log.warn(
          { pid: run.info.pid, waitedMs: this.#options.gracePeriodMs + this.#options.killMarginMs },
          `${this.#options.name} did not exit in time; killing its process group`,
        )
        this.#kill(run)
      }, this.#options.gracePeriodMs + this.#options.killMarginMs)
      run.killTimer.unref()
    }
    return run.done
  }

  #kill(run: Run): void {
    if (!killGroup(run.info.pid, 'SIGKILL')) killPid(run.info.pid, 'SIGKILL')
  }

  /**
   * Stops for good. Idempotent; a second call while the first waits forces the stop (SIGKILL
   * of the group at once).
   */
  stop(): Promise<void> {
    this.#stopped = true
    if (this.#stopPromise) {
      if (this.#phase === 'stopping') {
        for (const run of this.#live) if (!run.exited) this.#kill(run)
      }
      return this.#stopPromise
    }
    this.#stopping = true
    this.#clearTimer()
    this.#stopPromise = (async () => {
      // A start in progress finishes spawning (and is stopped right after).
      await this.#startPromise?.catch(() => undefined)
      await this.#spawning
      const run = this.#current
      if (run !== undefined && !run.exited && this.#phase !== 'failed') this.#setPhase('stopping')
      // The current child, a replica and a retiring child: all of them, each gracefully.
      await Promise.all([...this.#live].map((r) => this.#terminate(r)))
      if (this.#phase !== 'failed') this.#setPhase('stopped')
    })()
    return this.#stopPromise
  }
}
