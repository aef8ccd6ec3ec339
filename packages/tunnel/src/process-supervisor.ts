/**
 * The generic process supervisor: spawn, restart with backoff, graceful stop, no orphans.
 */
import {
  checkNumber,
  checkOneOf,
  createBackoff,
  Emitter,
  invalidOption,
  noopLogger,
  resolveBackoffOptions,
} from '@scanner/core'
import type { BackoffOptions, Disposer, Logger } from '@scanner/core'
import { basename } from 'node:path'
import { TunnelError } from './errors.js'
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
import { findExecutable, searchPathEnv } from './internal/proc.js'
import { Runner } from './internal/runner.js'
import type { ExitInfo, RunnerFailure, RunnerPhase } from './internal/runner.js'

/**
 * State of a supervisor:
 * - `starting`: a process is being started or has not become ready yet;
 * - `running`: up and ready;
 * - `degraded`: up but not serving well (tunnel: connections lost, public URL failing);
 * - `backoff`: waiting before the next start;
 * - `stopping`: stopping the process;
 * - `stopped`: before `start()`, after `stop()`, or after a clean exit with restart `never`;
 * - `failed`: gave up (see `status().failure`).
 */
export type SupervisorState =
  'starting' | 'running' | 'degraded' | 'backoff' | 'stopping' | 'stopped' | 'failed'

/** When the generic supervisor restarts an exited process. */
export type RestartPolicy = 'always' | 'on-failure' | 'never'

/** A state change. */
export interface StateChangeEvent<S extends string = SupervisorState> {
  readonly state: S
  readonly previous: S
}

/** A restart about to happen. */
export interface ProcessRestartEvent {
  /** Why: `exit` for the generic supervisor, `manual` for `restart()`. */
  readonly reason: string
  /** Delay before the new start, in milliseconds. */
  readonly delayMs: number
  /** Exit code of the process that ended, when it exited on its own. */
  readonly exitCode: number | null
  readonly signal: string | null
  readonly pid: number | undefined
}

/** One line of output (the secrets already removed). */
export interface OutputLineEvent {
  readonly line: string
  readonly stream: 'stdout' | 'stderr'
  /** The line was longer than `maxLineLength` and was cut. */
  readonly truncated: boolean
}

/** How a process ended. */
export type ProcessExitEvent = ExitInfo

/** Why a supervisor gave up. */
export type SupervisorFailure = RunnerFailure

/** Events of {@link ProcessSupervisor}. */
export interface ProcessSupervisorEvents {
  state: StateChangeEvent
  restart: ProcessRestartEvent
  line: OutputLineEvent
  exit: ProcessExitEvent
  failed: SupervisorFailure
}

/** Options of {@link createProcessSupervisor}. */
export interface ProcessSupervisorOptions {
  /** Executable: a path, or a name looked up on `PATH`. Required. */
  readonly command?: string
  /**
   * Arguments (no shell).
   * @default []
   */
  readonly args?: readonly string[]
  /**
   * Environment variables added to (or, with `extendEnv: false`, replacing) `process.env`.
   * @default {}
   */
  readonly env?: Readonly<Record<string, string | undefined>>
  /**
   * Whether `env` extends `process.env`.
   * @default true
   */
  readonly extendEnv?: boolean
  /** Working directory. @default process.cwd() */
  readonly cwd?: string
  /**
   * Name used in logs and in the default pid file.
   * @default basename of `command`
   */
  readonly name?: string
  /**
   * Time the process gets after SIGTERM before its process group is killed (plus
   * `killMarginMs`).
   * @default 30000
   */
  readonly gracePeriodMs?: number
  /**
   * Extra wait after the grace period before SIGKILL.
   * @default 5000
   */
  readonly killMarginMs?: number
  /**
   * Signal that starts a graceful stop.
   * @default 'SIGTERM'
   */
  readonly killSignal?: NodeJS.Signals
  /**
   * `always` restarts after any exit, `on-failure` only after a non-zero exit or a signal,
   * `never` lets it end (state `stopped`).
   * @default 'always'
   */
  readonly restart?: RestartPolicy
  /**
   * Restart delays (`@scanner/core` backoff: initialDelayMs 1000, factor 2, maxDelayMs 60000,
   * jitter 'equal', resetAfterMs 120000).
   * @default {}
   */
  readonly backoff?: BackoffOptions
  /**
   * A start counts as successful once the process has been up this long.
   * @default 1000
   */
  readonly minUptimeMs?: number
  /**
   * Gives up (state `failed`, reason `crash-loop`) after this many starts in a row that ended
   * before `minUptimeMs`.
   * @default 5
   */
  readonly maxCrashes?: number
  /**
   * Pid file used to find and stop a process left over by a supervisor that died (the process
   * identity is verified first). `false` disables it.
   * @default `<os.tmpdir()>/scanner-<name>-<hash of command, args, cwd>.pid`
   */
  readonly pidFile?: string | false
  /**
   * On Linux, start the process through `setpriv --pdeathsig SIGKILL` (util-linux) when
   * available, so it dies with the supervising process even on SIGKILL.
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
   * Strings removed from every output line before it is logged, emitted or kept.
   * @default []
   */
  readonly secrets?: readonly string[]
  /**
   * Log level of the process's output lines.
   * @default 'info'
   */
  readonly outputLevel?: LogMethod
  /**
   * Longer output lines are cut to this many bytes.
   * @default 16384
   */
  readonly maxLineLength?: number
  /**
   * Number of output lines kept for error reports.
   * @default 50
   */
  readonly outputLines?: number
  /**
   * Logger (pino-compatible). Supervisor events go to `child({ module: 'supervisor' })`, output
   * to `child({ module: <name> })`.
   * @default noopLogger
   */
  readonly logger?: Logger
  /** Stops the supervisor when aborted. */
  readonly signal?: AbortSignal
}

/** Defaults of {@link ProcessSupervisorOptions}, in one place. */
export const processSupervisorDefaults = Object.freeze({
  gracePeriodMs: 30_000,
  killMarginMs: 5_000,
  killSignal: 'SIGTERM',
  restart: 'always',
  minUptimeMs: 1_000,
  maxCrashes: 5,
  pdeathsig: true,
  keeper: true,
  outputLevel: 'info',
  maxLineLength: 16_384,
  outputLines: 50,
})

/** What {@link ProcessSupervisor.status} returns. */
export interface ProcessStatus {
  readonly name: string
  readonly state: SupervisorState
  /** Pid of the running process. */
  readonly pid: number | undefined
  /** Uptime of the current process, in milliseconds. */
  readonly uptimeMs: number | undefined
  /** Number of processes started so far. */
  readonly starts: number
  readonly restarts: { readonly total: number; readonly byReason: Readonly<Record<string, number>> }
  /** When the next start is due (state `backoff`), ISO 8601. */
  readonly nextStartAt: string | undefined
  readonly lastExit: ProcessExitEvent | undefined
  readonly failure: SupervisorFailure | undefined
  /** Last output lines (secrets removed). */
  readonly lastLines: readonly string[]
}

/** A supervised process; see {@link createProcessSupervisor}. */
export interface ProcessSupervisor {
  readonly state: SupervisorState
  readonly pid: number | undefined
  /** Starts the process; resolves once it is spawned, rejects when it cannot be (binary missing). */
  start(): Promise<void>
  /**
   * Stops it: SIGTERM, then SIGKILL of the whole process group after `gracePeriodMs +
   * killMarginMs`. Idempotent; a second call while waiting kills at once.
   */
  stop(): Promise<void>
  /** Restarts the process now (reason `manual`); false when not running. */
  restart(): boolean
  status(): ProcessStatus
  /** Subscribes to an event; returns a disposer. */
  on<K extends keyof ProcessSupervisorEvents>(
    event: K,
    listener: (event: ProcessSupervisorEvents[K]) => void,
  ): Disposer
  onStateChange(listener: (event: StateChangeEvent) => void): Disposer
  onRestart(listener: (event: ProcessRestartEvent) => void): Disposer
}

class GenericSupervisor implements ProcessSupervisor {
  readonly #runner: Runner
  readonly #events = new Emitter<ProcessSupervisorEvents>()
  readonly #name: string
  #state: SupervisorState = 'stopped'
  #lastExit: ProcessExitEvent | undefined
  #restarts = 0
  readonly #byReason: Record<string, number> = {}
  #uptimeTimer: NodeJS.Timeout | undefined

  constructor(options: ProcessSupervisorOptions) {
    if (typeof options !== 'object' || options === null) {
      throw invalidOption('options', 'an object', options)
    }
    const d = processSupervisorDefaults
    const command = checkString('command', options.command)
    if (command === undefined) throw invalidOption('command', 'a non-empty string', undefined)
    const args = checkStringArray('args', options.args)
    const env = checkEnv('env', options.env)
    const extendEnv = checkBoolean('extendEnv', options.extendEnv, true)
    const cwd = checkString('cwd', options.cwd)
    const name = checkString('name', options.name) ?? basename(command)
    const gracePeriodMs = checkNumber('gracePeriodMs', options.gracePeriodMs, d.gracePeriodMs)
    const killMarginMs = checkNumber('killMarginMs', options.killMarginMs, d.killMarginMs)
    const killSignal = checkString('killSignal', options.killSignal) ?? d.killSignal
    const restart = checkOneOf(
      'restart',
      options.restart,
      ['always', 'on-failure', 'never'],
      d.restart,
    )
    const backoffOptions = resolveBackoffOptions(options.backoff ?? {}, 'backoff.')
    const minUptimeMs = checkNumber('minUptimeMs', options.minUptimeMs, d.minUptimeMs)
    const maxCrashes = checkNumber('maxCrashes', options.maxCrashes, d.maxCrashes, {
      min: 1,
      integer: true,
    })
    const pdeathsig = checkBoolean('pdeathsig', options.pdeathsig, d.pdeathsig)
    const keeper = checkBoolean('keeper', options.keeper, d.keeper)
    const secrets = checkStringArray('secrets', options.secrets)
    const outputLevel = checkOneOf(
      'outputLevel',
      options.outputLevel,
      ['debug', 'info', 'warn', 'error'],
      d.outputLevel,
    )
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
    const pidFile = checkPidFile(options.pidFile, [command, args, cwd ?? process.cwd()], name)
    this.#name = name

    const log = logger.child({ module: 'supervisor', process: name })
    const output = logger.child({ module: name })
    const resolvedEnv = env
    this.#runner = new Runner(
      {
        name,
        gracePeriodMs,
        killMarginMs,
        killSignal: killSignal as NodeJS.Signals,
        backoff: createBackoff({ ...options.backoff, ...backoffOptions }),
        maxCrashes,
        pidFile,
        pdeathsig,
        keeper,
        maxLineLength,
        outputLines,
        secrets,
        log,
        notFound: (cmd) =>
          new TunnelError(
            'ERR_TUNNEL_BIN_NOT_FOUND',
            `cannot run ${name}: "${cmd}" was not found or is not executable`,
          ),
      },
      {
        plan: () => {
          const found = findExecutable(command, searchPathEnv(resolvedEnv), cwd)
          if (found === undefined) {
            return Promise.reject(
              new TunnelError(
                'ERR_TUNNEL_BIN_NOT_FOUND',
                `cannot run ${name}: "${command}" was not found or is not executable`,
              ),
            )
          }
          return Promise.resolve({ command: found, args, env: resolvedEnv, extendEnv, cwd })
        },
        onSpawn: () => {
          if (this.#uptimeTimer) clearTimeout(this.#uptimeTimer)
          this.#uptimeTimer = setTimeout(() => {
            this.#runner.markReady()
            this.#refresh()
          }, minUptimeMs)
          this.#uptimeTimer.unref()
        },
        onLine: (line, stream, truncated) => {
          output[outputLevel]({ stream }, line)
          this.#events.emit('line', { line, stream, truncated })
        },
        onExit: (info) => {
          const clean = info.exitCode === 0
          if (restart === 'never' || (restart === 'on-failure' && clean)) return { action: 'done' }
          return { action: 'restart', reason: 'exit' }
        },
        onExited: (info) => {
          if (this.#uptimeTimer) clearTimeout(this.#uptimeTimer)
          this.#lastExit = info
          this.#events.emit('exit', info)
        },
        onPhase: () => {
          this.#refresh()
        },
        onRestart: (event) => {
          this.#restarts++
          this.#byReason[event.reason] = (this.#byReason[event.reason] ?? 0) + 1
          this.#events.emit('restart', event)
        },
        onFail: (failure) => {
          this.#events.emit('failed', failure)
        },
      },
    )
    if (signal) {
      if (signal.aborted) void this.#runner.stop()
      else signal.addEventListener('abort', () => void this.#runner.stop(), { once: true })
    }
  }

  #refresh(): void {
    const next = phaseToState(this.#runner.phase, this.#runner.ready)
    if (next === this.#state) return
    const previous = this.#state
    this.#state = next
    this.#events.emit('state', { state: next, previous })
  }

  get state(): SupervisorState {
    return this.#state
  }
  get pid(): number | undefined {
    return this.#runner.child?.pid
  }
  start(): Promise<void> {
    return this.#runner.start()
  }
  stop(): Promise<void> {
    if (this.#uptimeTimer) clearTimeout(this.#uptimeTimer)
    return this.#runner.stop()
  }
  restart(): boolean {
    return this.#runner.restart('manual', true)
  }
  status(): ProcessStatus {
    const child = this.#runner.child
    const next = this.#runner.nextStartAt
    return {
      name: this.#name,
      state: this.#state,
      pid: child?.pid,
      uptimeMs: child === undefined ? undefined : Date.now() - child.startedAt,
      starts: this.#runner.starts,
      restarts: { total: this.#restarts, byReason: { ...this.#byReason } },
      nextStartAt: next === undefined ? undefined : new Date(next).toISOString(),
      lastExit: this.#lastExit,
      failure: this.#runner.failure,
      lastLines: this.#runner.lastLines(),
    }
  }
  on<K extends keyof ProcessSupervisorEvents>(
    event: K,
    listener: (event: ProcessSupervisorEvents[K]) => void,
  ): Disposer {
    return this.#events.on(event, listener)
  }
  onStateChange(listener: (event: StateChangeEvent) => void): Disposer {
    return this.#events.on('state', listener)
  }
  onRestart(listener: (event: ProcessRestartEvent) => void): Disposer {
    return this.#events.on('restart', listener)
  }
}

/** Maps the runner phase to a public state (ready only matters while up). */
export function phaseToState(phase: RunnerPhase, ready: boolean): SupervisorState {
  switch (phase) {
    case 'idle':
      return 'stopped'
    case 'up':
      return ready ? 'running' : 'starting'
    default:
      return phase
  }
}

/**
 * Supervises any long-running process (for example the origin service next to cloudflared):
 * spawns it with `child_process.spawn()` (no shell, own process group, `setpriv --pdeathsig` on
 * Linux), logs its output line by line, restarts it with backoff, gives up on a crash loop, and
 * stops it gracefully with nothing left running.
 *
 * @example
 * ```ts
 * const api = createProcessSupervisor({
 *   command: 'node',
 *   args: ['server.js'],
 *   gracePeriodMs: 10_000,
 *   logger,
 * })
 * api.onStateChange(({ state }) => logger.info({ state }, 'api state'))
 * await api.start()
 * process.once('SIGTERM', () => void api.stop())
 * ```
 */
export function createProcessSupervisor(options: ProcessSupervisorOptions): ProcessSupervisor {
  return new GenericSupervisor(options)
}
