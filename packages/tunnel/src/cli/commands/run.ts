import type { Server } from 'node:http'
import { createLogger, isScannerError } from '@scanner/core'
import type { ScannerLogger } from '@scanner/core'
import { commandHelp, configOption, parseCommand } from '../args.js'
import type { CommandSpec } from '../args.js'
import { loadConfig, resolveToken, tunnelKind } from '../config.js'
import { ENV_PREFIX } from '../schema.js'
import type { CliConfig } from '../config.js'
import { createCliDnsMonitor } from '../dns.js'
import type { DnsMonitor, DnsReport } from '@scanner/health'
import { CliError } from '../errors.js'
import type { CliIo } from '../io.js'
import { createCliMetrics } from '../metrics.js'
import type { CliMetrics } from '../metrics.js'
import { closeServer, listenStatus } from '../status-server.js'
import { ReloadError, reloadRoute } from '../reload.js'
import type { ReloadAnswer, ReloadRequest } from '../reload.js'
import { STATUS_PAGE_PATH, createWatchdogPage } from '../status-page.js'
import type { WatchdogPage } from '../status-page.js'
import { cliVersion } from '../version.js'
import { createProcessSupervisor, createTunnel } from '../../index.js'
import type { ProcessStatus, ProcessSupervisor, Tunnel, TunnelStatus } from '../../index.js'

/** A repeat of the first stop signal within this window is a forwarded copy, not a second one. */
const REPEAT_WINDOW_MS = 1000
/** Lines of the origin's output quoted in the record of its exit. */
const ORIGIN_EXIT_TAIL = 10
/** Most characters of one quoted line in that record. */
const ORIGIN_EXIT_LINE = 500

/**
 * Environment variables the origin service never inherits: the token, where systemd put the
 * credentials (`LoadCredential=`), token files, and the CLI's own settings (which name them).
 */
export function originEnvDenylist(
  ...envs: readonly Readonly<Record<string, string | undefined>>[]
): Record<string, undefined> {
  const names = new Set(['TUNNEL_TOKEN', 'TUNNEL_TOKEN_FILE', 'CREDENTIALS_DIRECTORY'])
  for (const env of envs) {
    for (const name of Object.keys(env)) if (name.startsWith(ENV_PREFIX)) names.add(name)
  }
  return Object.fromEntries([...names].map((name) => [name, undefined]))
}

/** The `run` command's spec. */
export const runSpec: CommandSpec = {
  name: 'run',
  usage: 'scanner-tunnel run [--config FILE] [config flags]',
  summary:
    'The watchdog: supervises cloudflared (restarts with backoff, QUIC-timeout and readiness detection), optionally the origin service, runs the DNS monitor, writes the log directory and serves GET /status on loopback.',
  description: [
    'Signals: SIGTERM/SIGINT stop everything gracefully (exit 0; a second one forces the stop,',
    'except the same signal repeated within a second, a forwarded copy),',
    'SIGHUP reopens the log files (logrotate),',
    'SIGUSR2 reloads: re-reads tunnel.bin and tunnel.args from the config and hands over to a new',
    'cloudflared without downtime (as `scanner-tunnel reload` does).',
    'Exit codes: 0 after a requested stop, 1 when the tunnel reached "failed" (reason and last',
    'cloudflared lines on stderr), 2 on usage or config errors.',
  ].join('\n'),
  configFlags: true,
  options: [configOption],
}

/** The JSON document served at `GET /status`. */
export interface WatchdogStatus {
  readonly service: 'scanner-tunnel'
  readonly version: string
  readonly pid: number
  readonly startedAt: string
  readonly uptimeMs: number
  /** The tunnel supervisor's `status()`. */
  readonly tunnel: TunnelStatus
  /** The origin supervisor's `status()`, `null` without `origin.command`. */
  readonly origin: ProcessStatus | null
  /** The DNS monitor's state and last report, `null` with `dns.enabled: false`. */
  readonly dns: { readonly state: string; readonly lastReport: DnsReport | null } | null
}

interface Running {
  readonly tunnel: Tunnel
  readonly origin: ProcessSupervisor | undefined
  readonly dns: DnsMonitor | undefined
  readonly metrics: CliMetrics | undefined
  readonly startedAt: number
}

function watchdogStatus(r: Running): WatchdogStatus {
  return {
    service: 'scanner-tunnel',
    version: cliVersion(),
    pid: process.pid,
    startedAt: new Date(r.startedAt).toISOString(),
    uptimeMs: Date.now() - r.startedAt,
    tunnel: r.tunnel.status(),
    origin: r.origin === undefined ? null : r.origin.status(),
    dns: r.dns === undefined ? null : { state: r.dns.state, lastReport: r.dns.lastReport ?? null },
  }
}

function makeLogger(config: CliConfig, token: string | undefined): ScannerLogger {
  try {
    return createLogger({
      name: 'scanner-tunnel',
      level: config.log.level,
      secrets: token === undefined ? [] : [token],
      originLogFile: config.log.originFile,
      ...(config.log.dir === undefined ? {} : { logDir: config.log.dir }),
    })
  } catch (error) {
    if (error instanceof TypeError && error.message.includes('"originLogFile"')) {
      throw new CliError(
        'ERR_TUNNEL_CLI_CONFIG',
        `Invalid config "log.originFile": expected a plain file name (letters, digits, ".", "_", "-") other than the other log files, got ${JSON.stringify(config.log.originFile)}`,
        { cause: error },
      )
    }
    if (isScannerError(error, 'ERR_CORE_LOG_DIR')) {
      throw new CliError('ERR_TUNNEL_CLI_CONFIG', `Invalid config "log.dir": ${error.message}`, {
        cause: error,
      })
    }
    throw error
  }
}

class StartError extends Error {
  readonly what: string
  constructor(what: string, cause: unknown) {
    super(`cannot start ${what}`, { cause })
    this.what = what
  }
}

function failureText(status: TunnelStatus): string {
  const failure = status.failure
  const reason =
    failure === undefined ? 'unknown reason' : `${failure.message} (reason: ${failure.reason})`
  const lines = failure?.lastLines ?? status.lastLines
  const tail = lines.slice(-20).map((l) => `  ${l}`)
  return [
    `scanner-tunnel: the tunnel failed: ${reason}`,
    ...(tail.length === 0 ? [] : ['Last cloudflared output:', ...tail]),
  ].join('\n')
}

/** `scanner-tunnel run`: the watchdog. */
export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, help } = parseCommand(runSpec, argv)
  if (help) {
    io.stdout.write(commandHelp(runSpec))
    return 0
  }
  const { config, file } = await loadConfig({
    file: typeof values.config === 'string' ? values.config : undefined,
    env: io.env,
    flags: values,
    cwd: io.cwd,
  })
  const { token, source } = await resolveToken(config, io.env)
  const logger = makeLogger(config, token)
  const log = logger.child({ module: 'watchdog' })
  const disposers: (() => void)[] = []
  const onSignal = (signal: NodeJS.Signals, handler: () => void): void => {
    if (io.onSignal) disposers.push(io.onSignal(signal, handler))
  }
  onSignal('SIGHUP', () => {
    logger.reopen()
    log.info({ logDir: config.log.dir }, 'log files reopened (SIGHUP)')
  })

  let stopRequested: ((signal: string) => void) | undefined
  const stopped = new Promise<string>((resolve) => {
    stopRequested = resolve
  })
  let first: { readonly signal: string; readonly at: number } | undefined
  let stopping = false
  let current: Tunnel | undefined
  const requestStop = (signal: string): void => {
    if (first !== undefined) {
      // One Ctrl-C can arrive twice (from the terminal, and forwarded by a wrapper such as the
      // tsx CLI or a package manager): the same signal within a second is that copy.
      if (signal === first.signal && performance.now() - first.at < REPEAT_WINDOW_MS) {
        log.debug({ signal }, 'repeated stop signal ignored (forwarded copy)')
        return
      }
      log.warn({ signal }, 'second stop signal: forcing the stop')
      void current?.stop()
      return
    }
    first = { signal, at: performance.now() }
    stopRequested?.(signal)
  }
  onSignal('SIGTERM', () => {
    requestStop('SIGTERM')
  })
  onSignal('SIGINT', () => {
    requestStop('SIGINT')
  })
  if (io.signal) {
    if (io.signal.aborted) requestStop('abort')
    else
      io.signal.addEventListener('abort', () => {
        requestStop('abort')
      })
  }

  log.info(
    {
      config: file ?? null,
      kind: tunnelKind(config),
      tokenSource: source ?? null,
      version: cliVersion(),
    },
    'scanner-tunnel starting',
  )
  let dns: DnsMonitor | undefined
  let origin: ProcessSupervisor | undefined
  let server: Server | undefined
  let page: WatchdogPage | undefined
  const metrics = await createCliMetrics()
  let exitCode = 0
  const startedAt = Date.now()
  // The supervisors unref their timers (library rule); the watchdog itself must stay alive
  // while cloudflared waits in backoff, so `run` holds one ref'd timer until it returns.
  const keepAlive = setInterval(() => undefined, 1 << 30)
  const localUrl = config.tunnel.localUrl ?? config.origin.healthUrl
  try {
    if (config.dns.enabled) {
      dns = createCliDnsMonitor(config, logger.child({ module: 'health' }), metrics?.registry)
      dns.start()
    }
    const [bin, ...args] = config.origin.command ?? []
    if (bin !== undefined) {
      origin = createProcessSupervisor({
        name: 'origin',
        command: bin,
        args,
        ...(config.origin.cwd === undefined ? {} : { cwd: config.origin.cwd }),
        // The origin never sees the tunnel token, nor where to read it.
        env: { ...config.origin.env, ...originEnvDenylist(process.env, io.env) },
        gracePeriodMs: config.origin.gracePeriodMs,
        backoff: config.tunnel.backoff,
        // It cannot read the token, but if it ever prints it, the token is redacted.
        ...(token === undefined ? {} : { secrets: [token] }),
        logger,
      })
      const supervised = origin
      if (metrics !== undefined) disposers.push(metrics.watchOrigin(supervised))
      // The last lines of the current run (the supervisor's own buffer spans runs).
      let tail: string[] = []
      disposers.push(
        supervised.on('line', ({ line }) => {
          tail.push(line.length > ORIGIN_EXIT_LINE ? `${line.slice(0, ORIGIN_EXIT_LINE)}…` : line)
          if (tail.length > ORIGIN_EXIT_TAIL) tail.shift()
        }),
        supervised.on('exit', ({ exitCode: code, signal, durationMs }) => {
          // One record that explains a crash: how it ended and what it printed last.
          const lastLines = tail
          tail = []
          const how = signal === null ? `with code ${String(code)}` : `on signal ${signal}`
          const level = code === 0 || stopping ? 'info' : 'error'
          log[level](
            { process: 'origin', exitCode: code, signal, durationMs, lastLines },
            `origin service exited ${how}${lastLines.length === 0 ? '' : `; last output:\n${lastLines.join('\n')}`}`,
          )
        }),
      )
    }
    const tunnel = createTunnel({
      ...(config.tunnel.bin === undefined ? {} : { bin: config.tunnel.bin }),
      ...(token === undefined ? {} : { token }),
      ...(config.tunnel.url === undefined ? {} : { url: config.tunnel.url }),
      ...(config.tunnel.configFile === undefined ? {} : { configFile: config.tunnel.configFile }),
      protocol: config.tunnel.protocol,
      protocolFallback: config.tunnel.protocolFallback,
      args: config.tunnel.args,
      gracePeriodMs: config.tunnel.gracePeriodMs,
      readyTimeoutMs: config.tunnel.readyTimeoutMs,
      quicTimeouts: config.tunnel.quicTimeouts,
      backoff: config.tunnel.backoff,
      ...(config.tunnel.publicUrl === undefined ? {} : { publicUrl: config.tunnel.publicUrl }),
      ...(localUrl === undefined ? {} : { localUrl }),
      ...(dns === undefined ? {} : { dns }),
      ...(metrics === undefined ? {} : { metrics: metrics.registry }),
      logger,
    })
    current = tunnel
    const failed = new Promise<'failed'>((resolve) => {
      disposers.push(
        tunnel.onStateChange(({ state }) => {
          if (state === 'failed') resolve('failed')
        }),
      )
    })
    // Bind the status endpoint first: a busy port stops start-up before anything is spawned.
    const running: Running = { tunnel, origin, dns, metrics, startedAt }
    // A reload re-reads tunnel.bin and tunnel.args (a changed config file), a bin given by
    // `scanner-tunnel reload --bin` wins, and the tunnel hands over make-before-break.
    const reload = async (request: ReloadRequest): Promise<ReloadAnswer> => {
      const fresh = await loadConfig({ file, env: io.env, flags: values, cwd: io.cwd }).catch(
        (error: unknown) => {
          throw new ReloadError(400, `the config cannot be read: ${(error as Error).message}`)
        },
      )
      const bin = request.bin ?? fresh.config.tunnel.bin
      log.info({ bin: bin ?? null, args: fresh.config.tunnel.args }, 'reload requested')
      const result = await tunnel.replace({
        ...(bin === undefined ? {} : { bin }),
        args: fresh.config.tunnel.args,
      })
      log.info({ ...result }, 'reload done')
      return { ...result, pid: tunnel.status().pid }
    }
    onSignal('SIGUSR2', () => {
      reload({}).catch((error: unknown) => {
        log.error({ err: error }, 'reload (SIGUSR2) failed')
      })
    })
    page = createWatchdogPage({ tunnel, origin, dns, stopping: () => stopping })
    server = await listenStatus(config.status.listen, {
      status: () => watchdogStatus(running),
      metrics,
      routes: { ...page.page.routes, '/reload': reloadRoute(reload) },
      html: STATUS_PAGE_PATH,
    })
    if (server !== undefined) {
      const address = server.address()
      if (typeof address === 'object' && address !== null) {
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
        log.info({ url: `http://${host}:${address.port}/status` }, 'status endpoint listening')
      }
    }
    if (origin !== undefined) {
      await origin.start().catch((error: unknown) => {
        throw new StartError('the origin service', error)
      })
    }
    await tunnel.start().catch((error: unknown) => {
      throw new StartError('the tunnel', error)
    })
    const outcome = await Promise.race([stopped, failed])
    if (outcome === 'failed') {
      exitCode = 1
      const status = tunnel.status()
      log.error({ failure: status.failure }, 'tunnel failed; stopping')
      const message = failureText(status)
      io.stderr.write(`${message}\n`)
    } else {
      log.info({ signal: outcome }, 'stopping')
    }
  } catch (error) {
    if (!(error instanceof StartError)) throw error
    exitCode = 1
    const cause = error.cause as Error
    log.error({ err: cause }, error.message)
    io.stderr.write(`scanner-tunnel: ${error.message}: ${cause.message}\n`)
  } finally {
    // Stopping now (requested, or the tunnel failed): any further signal forces the stop.
    first ??= { signal: 'stop', at: performance.now() }
    stopping = true
    // cloudflared first (it finishes in-flight requests within its grace period, which needs
    // the origin), then the origin service.
    await Promise.allSettled([current?.stop(), dns?.close(), page?.close(), closeServer(server)])
    await origin?.stop().catch((error: unknown) => {
      log.error({ err: error }, 'stopping the origin service failed')
    })
    log.info({ exitCode }, 'scanner-tunnel stopped')
    for (const dispose of disposers) dispose()
    clearInterval(keepAlive)
    logger.flush()
    logger.closeFiles()
  }
  return exitCode
}
