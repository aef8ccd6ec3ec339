import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Logger } from '@scanner/core'

/** A repeat of the first signal within this window is a forwarded copy, not a second signal. */
const REPEAT_WINDOW_MS = 1000

/** One step of a graceful shutdown, run in order. */
export interface ShutdownStep {
  /** Short name used in the log (`drain readiness`, `stop tunnel`, `close server`). */
  readonly name: string
  run(): unknown
}

/** Options of {@link runShutdown} and {@link handleShutdownSignals}. */
export interface ShutdownOptions {
  /** Steps, in order: drain readiness, stop the tunnel, close the server, close the database. */
  readonly steps: readonly ShutdownStep[]
  /** Where progress is logged. */
  readonly logger: Logger
  /**
   * Hard deadline of the whole shutdown, in milliseconds; past it the process exits 1.
   * @default 45000
   */
  readonly timeoutMs?: number
}

/** Outcome of {@link runShutdown}. */
export interface ShutdownResult {
  /** Names of the steps that threw. */
  readonly failed: readonly string[]
  readonly durationMs: number
}

/**
 * Runs the shutdown steps one after the other; a failing step is logged and the next one
 * still runs.
 *
 * @example
 * ```ts
 * await runShutdown({ logger, steps: [{ name: 'drain readiness', run: () => health.drain() }] })
 * ```
 */
export async function runShutdown(
  options: Pick<ShutdownOptions, 'steps' | 'logger'>,
): Promise<ShutdownResult> {
  const started = performance.now()
  const failed: string[] = []
  for (const step of options.steps) {
    const stepStarted = performance.now()
    try {
      await step.run()
      options.logger.info(
        { step: step.name, ms: Math.round(performance.now() - stepStarted) },
        `shutdown: ${step.name} done`,
      )
    } catch (err) {
      failed.push(step.name)
      options.logger.error({ err, step: step.name }, `shutdown: ${step.name} failed`)
    }
  }
  return { failed, durationMs: Math.round(performance.now() - started) }
}

/**
 * Installs SIGTERM and SIGINT handlers (in the application, never in a library) that run the
 * shutdown steps in order and exit 0, or 1 when a step failed or the deadline passed. A second
 * signal during shutdown exits at once with 130, unless it is the same signal within a second of
 * the first (the copy a package manager forwards when Ctrl-C already reached the process group).
 *
 * @example
 * ```ts
 * handleShutdownSignals({
 *   logger,
 *   steps: [
 *     { name: 'drain readiness', run: () => health.drain() },
 *     { name: 'stop tunnel', run: () => tunnel.stop() },
 *     { name: 'close server', run: () => closeServer() },
 *   ],
 * })
 * ```
 */
export function handleShutdownSignals(
  options: ShutdownOptions & {
    /** Called with the exit code; tests replace it. @default process.exit */
    readonly exit?: (code: number) => void
  },
): () => void {
  const exit =
    options.exit ??
    ((code: number) => {
      process.exitCode = code
      process.exit(code)
    })
  const timeoutMs = options.timeoutMs ?? 45_000
  let first: { readonly signal: NodeJS.Signals; readonly at: number } | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    if (first !== undefined) {
      // Run through npm or pnpm in a terminal, one Ctrl-C arrives twice: from the terminal to
      // the whole process group, and forwarded by the package manager. The same signal within
      // a second is that echo, not a request to hurry.
      if (signal === first.signal && performance.now() - first.at < REPEAT_WINDOW_MS) {
        options.logger.debug({ signal }, 'repeated signal ignored (forwarded copy)')
        return
      }
      options.logger.warn({ signal }, 'second signal during shutdown: exiting now')
      exit(130)
      return
    }
    first = { signal, at: performance.now() }
    options.logger.info({ signal, timeoutMs }, `${signal} received: shutting down gracefully`)
    const deadline = setTimeout(() => {
      options.logger.error({ timeoutMs }, 'shutdown deadline passed: exiting with code 1')
      exit(1)
    }, timeoutMs)
    void runShutdown(options).then(({ failed, durationMs }) => {
      clearTimeout(deadline)
      if (failed.length > 0) {
        options.logger.error({ failed, durationMs }, 'shutdown finished with errors')
        exit(1)
        return
      }
      options.logger.info({ durationMs }, 'shutdown complete')
      exit(0)
    })
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  return () => {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
  }
}

/**
 * From now on, every response of `server` carries `Connection: close` and its connection ends
 * after it: clients and balancers that keep connections alive move to another instance by
 * themselves while readiness answers 503, instead of meeting a closed socket later. Requests
 * already on the wire are still answered. Returns a function that stops it.
 *
 * @example
 * ```ts
 * health.drain()
 * const stop = closeConnectionsAfterResponses(server)
 * ```
 */
export function closeConnectionsAfterResponses(
  server: Pick<Server, 'prependListener' | 'off'>,
): () => void {
  const closeAfter = (_req: IncomingMessage, res: ServerResponse): void => {
    // Read by Node when it writes the headers: `Connection: close`, then the socket ends.
    if (!res.headersSent) res.shouldKeepAlive = false
  }
  server.prependListener('request', closeAfter)
  return () => {
    server.off('request', closeAfter)
  }
}
