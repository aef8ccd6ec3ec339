import type { Server } from 'node:http'
import {
  createLogger,
  type BackoffOptions,
  type HealthCheck,
  type Logger,
  type ScannerLogger,
} from '@scanner/core'
import type { DrainableServer } from '@scanner/health'
import { createFakeEdge, fakeCloudflaredToken, type FakeEdge } from '@scanner/tunnel/testing'
import { chooseTunnel, type TunnelChoice } from './cloudflared.js'
import {
  DEMO_CONNECTIONS,
  DEMO_FAULTS,
  createDemoSimulatorFiles,
  demoBackoff,
  startDemoFaults,
  type DemoSimulatorFiles,
} from './demo.js'
import type { DeploymentConfig } from './config.js'
import { handleShutdownSignals, type ShutdownStep } from './shutdown.js'
import { listenError } from './startup.js'

/** Where log lines go: what pino calls a `DestinationStream`. */
export interface LogDestination {
  write(line: string): void
}

/**
 * Builds the examples' logger: JSON lines on stdout, or pino-pretty lines a person can follow
 * (pass pino-pretty's factory as `pretty`), with the tunnel token redacted everywhere.
 *
 * @example
 * ```ts
 * import pretty from 'pino-pretty'
 * const logger = createDeploymentLogger(config, { pretty })
 * ```
 */
export function createDeploymentLogger(
  config: Pick<DeploymentConfig, 'logLevel' | 'logFormat' | 'tunnelToken'>,
  options: {
    readonly name?: string
    /** pino-pretty's default export; used when `config.logFormat` is `pretty`. */
    readonly pretty?: (options: Record<string, unknown>) => LogDestination
  } = {},
): ScannerLogger {
  const destination =
    config.logFormat === 'pretty' && options.pretty !== undefined
      ? options.pretty({
          colorize: process.stdout.isTTY,
          sync: true,
          translateTime: 'HH:MM:ss.l',
          ignore: 'pid,hostname,name,module,tunnel,stream,kind',
          messageFormat: '{if module}[{module}] {end}{msg}',
          singleLine: true,
        })
      : undefined
  return createLogger({
    level: config.logLevel,
    ...(options.name === undefined ? {} : { name: options.name }),
    secrets: config.tunnelToken === undefined ? [] : [config.tunnelToken],
    ...(destination === undefined ? {} : { destination }),
  })
}

/**
 * A health check that delegates to a check created later (the tunnel's, created once the
 * server listens and its URL is known), and reports `disabled` until then or when there is none.
 *
 * @example
 * ```ts
 * let tunnel: Tunnel | undefined
 * const checks = [lazyCheck('tunnel', () => (tunnel ? tunnelCheck(tunnel) : undefined))]
 * ```
 */
export function lazyCheck(
  name: string,
  get: () => HealthCheck | undefined,
  options: { readonly critical?: boolean; readonly timeoutMs?: number } = {},
): HealthCheck {
  return {
    name,
    critical: options.critical ?? false,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    run(signal) {
      const check = get()
      if (check === undefined) return { status: 'healthy', state: 'disabled' }
      return check.run(signal)
    },
  }
}

/** The part of a tunnel supervisor (`Tunnel` of `@scanner/tunnel`) the deployment uses. */
export interface StoppableTunnel {
  /** Supervisor state (`starting`, `running`, `backoff`, ...). */
  readonly state?: string
  /** Pid of the current cloudflared, while one runs. */
  readonly pid?: number | undefined
  /** The supervisor's status; the demo reads its ready connections. */
  status?(): { readonly readyConnections: number }
  /** Spawns cloudflared; rejects when it cannot be started. */
  start?(): Promise<unknown>
  /** Stops cloudflared gracefully; idempotent. */
  stop(): Promise<unknown>
  onRestart?(
    listener: (event: {
      readonly reason: string
      readonly delayMs: number
      readonly exitCode: number | null
      /** `make-before-break` (a replica took over while the old one ran) or `break-before-make`. */
      readonly strategy?: string
      /** Make-before-break: from the decision to the old cloudflared's stop, in ms. */
      readonly handoverMs?: number | undefined
    }) => void,
  ): () => void
  /** Make-before-break handovers: `started`, `ready`, `completed` or `fallback`. */
  on?(
    event: 'handover',
    listener: (event: {
      readonly phase: string
      readonly strategy: string
      readonly reason: string
      readonly message?: string | undefined
    }) => void,
  ): () => void
  onStateChange?(
    listener: (event: { readonly state: string; readonly previous: string }) => void,
  ): () => void
}

/** A listening server as {@link startDeployment} needs it (see {@link listeningServer}). */
export interface ListeningServer {
  /** The local URL, for example `http://127.0.0.1:8000`. */
  readonly url: string
  /** The Node.js HTTP server; its keep-alive connections close after the drain has begun. */
  readonly server: DrainableServer
  /** Stops accepting, closes idle keep-alive connections, resolves when open requests are done. */
  close(): Promise<void>
}

/** What a framework server hands to {@link startDeployment}. */
export interface StartDeploymentOptions<T extends StoppableTunnel> {
  readonly config: DeploymentConfig
  readonly logger: Logger
  /** Framework name shown in the banner (`express`, `fastify`, `hono`). */
  readonly framework: string
  /** Path of the cloudflared simulator (`fakeCloudflaredPath` of `@scanner/tunnel/testing`). */
  readonly simulatorBin: string
  /**
   * Starts listening on `config.host`/`config.port`; resolves to the real URL, a closer and the
   * Node.js HTTP server (while draining, its responses carry `Connection: close`).
   */
  listen(): Promise<ListeningServer>
  /**
   * Starts the operator port (details, metrics, fault injection) on `config.adminHost`/
   * `config.adminPort`, after the public listener; closed by the `closers` (`health.close()`).
   * @default none
   */
  listenOperator?(): Promise<{ readonly url: string }>
  /** Demo mode: the demo's loopback resolvers (`startDemoDns()`), for the resolver outage. */
  readonly demoDns?: { outage(): void }
  /** Creates and starts the tunnel supervisor for the chosen cloudflared. */
  startTunnel(choice: Exclude<TunnelChoice, { kind: 'off' }>, localUrl: string): T
  /** Turns readiness to 503 (`health.drain()`), first step of the shutdown. */
  drain(): unknown
  /** Run after the server closed, in order (health, DNS monitor, database...). */
  readonly closers?: readonly ShutdownStep[]
  /** Where the banner goes. @default console.log */
  readonly print?: (line: string) => void
  /** Called with the exit code at the end of the shutdown. @default process.exit */
  readonly exit?: (code: number) => void
}

/** A running deployment. */
export interface Deployment<T> {
  /** The local URL the server listens on, for example `http://127.0.0.1:8000`. */
  readonly url: string
  /** The operator port's URL, for example `http://127.0.0.1:9464`, when there is one. */
  readonly operatorUrl: string | undefined
  readonly choice: TunnelChoice
  readonly tunnel: T | undefined
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms)
  })

/**
 * Starts a deployment in the order that matters: listen, print the URL, choose the tunnel
 * (a quick tunnel needs the real URL), install SIGTERM/SIGINT handlers, then start the tunnel
 * (so a signal during start-up gets the same shutdown). The handlers shut down in reverse:
 * drain readiness first (and wait `DRAIN_DELAY_MS`), stop the tunnel, close the server, close
 * the rest, exit 0.
 *
 * @example
 * ```ts
 * await startDeployment({
 *   config, logger, framework: 'express', simulatorBin: fakeCloudflaredPath,
 *   listen: () => listen(app, config),
 *   startTunnel: (choice, url) => (tunnel = createTunnel({ ...tunnelOptions(choice), logger })),
 *   drain: () => health.drain(),
 * })
 * ```
 */
export async function startDeployment<T extends StoppableTunnel>(
  options: StartDeploymentOptions<T>,
): Promise<Deployment<T>> {
  const { config, logger } = options
  const print =
    options.print ??
    ((line: string) => {
      console.log(line)
    })
  const server = await options.listen().catch((error: unknown) => {
    throw listenError('PORT', 'HOST', config.host, config.port, error)
  })
  print(`Scanner API (${options.framework}) listening on ${server.url}`)
  let operatorUrl: string | undefined
  if (options.listenOperator !== undefined) {
    const operator = await options.listenOperator().catch(async (error: unknown) => {
      await server.close()
      throw listenError('ADMIN_PORT', 'ADMIN_HOST', config.adminHost, config.adminPort, error)
    })
    operatorUrl = operator.url
    print(`Operator port (details, metrics, fault injection) on ${operatorUrl}`)
    print(`Status page: ${operatorUrl}/status`)
  }

  let choice = chooseTunnel(config, { localUrl: server.url, simulatorBin: options.simulatorBin })
  print(choice.notice)
  // Demo with the simulator: drive its faults through a control file, restart sooner when
  // connections are lost, and a backoff that resets between faults, so each fault is visible
  // and recovers within seconds however long the demo runs.
  // The simulator runs as a named tunnel registered at a simulated edge on loopback, so the
  // restarts of a running cloudflared (QUIC timeouts, lost connections) are make-before-break
  // and requests through the edge keep being answered while they happen.
  let demoFiles: DemoSimulatorFiles | undefined
  let demoEdge: FakeEdge | undefined
  if (config.demo && choice.kind === 'simulator') {
    demoFiles = createDemoSimulatorFiles()
    demoEdge = await createFakeEdge()
    choice = {
      ...choice,
      token: fakeCloudflaredToken(),
      // The replica registers all its connections before the old one stops: full capacity.
      handover: { readyConnections: DEMO_CONNECTIONS },
      env: {
        ...demoFiles.env,
        FAKE_CLOUDFLARED_EDGE: demoEdge.url,
        FAKE_CLOUDFLARED_ORIGIN: server.url,
      },
      readyTimeoutMs: 5000,
      backoff: demoBackoff(config.demoFaultIntervalMs),
    }
    print(
      `Simulated edge on ${demoEdge.url}: public requests go edge -> simulated cloudflared -> this server (loopback only).`,
    )
  }
  const tunnel = choice.kind === 'off' ? undefined : options.startTunnel(choice, server.url)
  let stopFaults = (): void => undefined
  // Signal handlers before the tunnel starts: a SIGTERM during start-up (a deploy, systemd) gets
  // the same ordered shutdown, never the default exit.
  handleShutdownSignals({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    ...(options.exit === undefined ? {} : { exit: options.exit }),
    steps: [
      {
        name: 'drain readiness',
        run: async () => {
          stopFaults()
          await options.drain()
          if (config.drainDelayMs > 0) {
            logger.info(
              { drainDelayMs: config.drainDelayMs },
              `draining: still serving for ${String(config.drainDelayMs / 1000)} s so balancers see readiness 503 (a second Ctrl-C stops at once)`,
            )
            await sleep(config.drainDelayMs)
          }
        },
      },
      ...(tunnel === undefined ? [] : [{ name: 'stop tunnel', run: () => tunnel.stop() }]),
      ...(demoEdge === undefined
        ? []
        : [{ name: 'close simulated edge', run: () => demoEdge?.close() ?? Promise.resolve() }]),
      { name: 'close server', run: () => server.close() },
      ...(options.closers ?? []),
      ...(demoFiles === undefined
        ? []
        : [
            {
              name: 'remove demo files',
              run: () => {
                demoFiles?.remove()
              },
            },
          ]),
    ],
  })
  if (tunnel !== undefined) {
    if (config.demo) narrate(tunnel, print)
    try {
      await tunnel.start?.()
    } catch (err) {
      // The API keeps serving; /health/detailed/ reports the tunnel as failed.
      logger.error({ err }, 'cloudflared could not be started')
    }
    if (demoFiles !== undefined && tunnel.state !== undefined) {
      const files = demoFiles
      const observed = {
        get state() {
          return tunnel.state ?? 'unknown'
        },
        get pid() {
          return tunnel.pid
        },
        get readyConnections() {
          return tunnel.status?.().readyConnections
        },
      }
      stopFaults = startDemoFaults({
        files,
        tunnel: observed,
        intervalMs: config.demoFaultIntervalMs,
        print,
        ...(options.demoDns === undefined ? {} : { dns: options.demoDns }),
      })
      const names = DEMO_FAULTS.filter((f) => f.dnsOutage !== true || options.demoDns).map(
        (f) => f.name,
      )
      print(
        `Demo: a fault every ${(config.demoFaultIntervalMs / 1000).toFixed(0)} s (${names.join(', ')}), in turn.`,
      )
    }
  }

  for (const line of bannerLines(server.url, config, operatorUrl, demoEdge?.url)) print(line)

  return { url: server.url, operatorUrl, choice, tunnel }
}

/**
 * Demo mode: one plain line per restart and per recovery, between the supervisor's own log
 * lines, so a person can follow detection -> restart (reason, delay) -> recovery.
 */
function narrate(tunnel: StoppableTunnel, print: (line: string) => void): void {
  let brokenSince: number | undefined
  tunnel.on?.('handover', (event) => {
    if (event.strategy !== 'make-before-break') return
    if (event.phase === 'started') {
      print(
        `>>> fault detected (${event.reason}): starting a replica before stopping the old cloudflared (make-before-break)`,
      )
    } else if (event.phase === 'fallback') {
      print(`>>> the replica did not become ready (${event.message ?? 'no reason'}): restarting`)
    }
  })
  tunnel.onRestart?.((event) => {
    if (event.strategy === 'make-before-break') {
      print(
        `>>> make-before-break done: the replica serves and the old cloudflared stopped, no gap in between (handover ${((event.handoverMs ?? 0) / 1000).toFixed(1)} s)`,
      )
      return
    }
    brokenSince ??= Date.now()
    const exit =
      event.reason === 'exit' && event.exitCode !== null ? `, exit code ${event.exitCode}` : ''
    print(
      `>>> fault detected (${event.reason}${exit}): restarting cloudflared in ${(event.delayMs / 1000).toFixed(1)} s`,
    )
  })
  tunnel.onStateChange?.((event) => {
    if (event.state === 'running' && brokenSince !== undefined) {
      print(
        `>>> recovered: tunnel running again after ${((Date.now() - brokenSince) / 1000).toFixed(1)} s`,
      )
      brokenSince = undefined
    } else if (event.state === 'degraded' || event.state === 'failed') {
      brokenSince ??= Date.now()
      print(`>>> tunnel ${event.state} (was ${event.previous})`)
    }
  })
}

/**
 * The `createHealth` settings shared by the servers: service name, version and who may see
 * details (loopback callers, plus holders of `HEALTH_TOKEN` when it is set).
 *
 * @example
 * ```ts
 * const health = createHealth({ ...healthSettings(config), checks, logger, metrics })
 * ```
 */
export function healthSettings(config: Pick<DeploymentConfig, 'healthToken'>): {
  service: string
  version: string
  details: 'loopback' | { token: string; loopback: boolean }
} {
  return {
    service: 'scanner-api',
    version: '1.0.0',
    details:
      config.healthToken === undefined ? 'loopback' : { token: config.healthToken, loopback: true },
  }
}

/**
 * The URLs to try, printed at start-up: in demo mode the simulated edge (`edgeUrl`, the way a
 * visitor's request comes in), the public API, then the operator port's endpoints (details,
 * metrics and the feed's fault injection never reach the public app).
 */
export function bannerLines(
  url: string,
  config: Pick<DeploymentConfig, 'demo'>,
  operatorUrl?: string,
  edgeUrl?: string,
): string[] {
  const lines = [
    'Try:',
    ...(edgeUrl === undefined
      ? []
      : [
          `  ${edgeUrl}/api/quotes/NVDA      through the simulated edge and tunnel, as a visitor would`,
          `  while sleep 0.2; do curl -s -o /dev/null -w '%{http_code} ' ${edgeUrl}/api/quotes/NVDA; done`,
          '                              200s through every make-before-break restart (530 only while no cloudflared is up)',
        ]),
    `  ${url}/health/detailed/     every check: database, system, DNS, breakers, tunnel`,
    `  ${url}/health/ready/        readiness (503 while draining or a critical check fails)`,
    `  ${url}/api/quotes/NVDA      a quote from the SQLite database`,
    `  ${url}/api/scan?minChangePct=2`,
    `  ${url}/api/feed/NVDA        the upstream feed, behind its own circuit breaker`,
  ]
  if (operatorUrl !== undefined) {
    lines.push(
      'Operator port (never routed by the tunnel; details for every caller):',
      `  ${operatorUrl}/status               the status page: tunnel state, restarts, DNS, breakers, errors (live)`,
      `  ${operatorUrl}/metrics              Prometheus metrics of every package`,
      `  ${operatorUrl}/health/detailed/     every check, with details`,
      `  curl -X POST -H 'content-type: application/json' -d '{"mode":"fail"}' ${operatorUrl}/api/feed/mode`,
      `                              then call ${url}/api/feed/NVDA a few times: its breaker opens (503 + Retry-After)`,
    )
  }
  if (config.demo) lines.push('Press Ctrl-C to stop.')
  return lines
}

/**
 * The DNS monitor settings from the environment, as `createDnsMonitor` options of
 * `@scanner/health` (only the keys that were set, so the package defaults apply otherwise).
 *
 * @example
 * ```ts
 * const dns = config.dnsCheck ? createDnsMonitor({ ...dnsMonitorSettings(config), logger }) : undefined
 * ```
 */
export function dnsMonitorSettings(
  config: Pick<DeploymentConfig, 'dnsNames' | 'dnsFallbacks' | 'dnsSystemServers'>,
): { names?: string[]; fallbacks?: string[]; systemServers?: string[] } {
  return {
    ...(config.dnsNames === undefined ? {} : { names: [...config.dnsNames] }),
    ...(config.dnsFallbacks === undefined ? {} : { fallbacks: [...config.dnsFallbacks] }),
    ...(config.dnsSystemServers === undefined
      ? {}
      : { systemServers: [...config.dnsSystemServers] }),
  }
}

/**
 * The `createTunnel` options of `@scanner/tunnel` for a tunnel choice: the binary, the token
 * of a named tunnel (passed to cloudflared through `TUNNEL_TOKEN`, never argv), or the local
 * URL of a quick tunnel; `localUrl` lets the supervisor tell origin failures from tunnel ones.
 * The DNS monitor is handed to a real cloudflared only: the simulator needs no network, so the
 * machine's DNS must not hold its restarts.
 *
 * @example
 * ```ts
 * createTunnel({ ...tunnelSettings(choice, config, url, dns), logger, metrics })
 * ```
 */
export function tunnelSettings<D = never>(
  choice: Exclude<TunnelChoice, { kind: 'off' }>,
  config: Pick<DeploymentConfig, 'tunnelToken'>,
  localUrl: string,
  dns?: D,
): {
  bin: string
  token?: string
  url?: string
  localUrl: string
  env?: Readonly<Record<string, string>>
  readyTimeoutMs?: number
  backoff?: BackoffOptions
  handover?: { readyConnections: number }
  dns?: D
} {
  const extras = {
    // The supervisor probes the origin to tell origin failures from tunnel failures.
    localUrl: `${localUrl}/health/live/`,
    ...(choice.env === undefined ? {} : { env: choice.env }),
    ...(choice.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: choice.readyTimeoutMs }),
    ...(choice.backoff === undefined ? {} : { backoff: choice.backoff }),
    ...(choice.handover === undefined ? {} : { handover: choice.handover }),
    ...(dns === undefined || choice.kind === 'simulator' ? {} : { dns }),
  }
  if (choice.kind === 'named') {
    return {
      bin: choice.bin,
      ...(config.tunnelToken === undefined ? {} : { token: config.tunnelToken }),
      ...extras,
    }
  }
  // The demo's simulator runs as a named tunnel (a made-up token): make-before-break restarts.
  if (choice.kind === 'simulator' && choice.token !== undefined) {
    return { bin: choice.bin, token: choice.token, ...extras }
  }
  return { bin: choice.bin, url: localUrl, ...extras }
}

/**
 * Per-route circuit-breaker overrides of the scanner API (`routes` option of
 * `createBreakerRegistry`): the upstream feed route opens after 5 calls in its window with at
 * least half failing, counts calls slower than 2 s as failures, and tries again after 15 s.
 * Every other route keeps the package defaults.
 */
export const breakerRoutes = Object.freeze({
  'GET /api/feed/:symbol': Object.freeze({
    volumeThreshold: 5,
    errorThresholdPercentage: 50,
    timeoutMs: 2000,
    resetTimeoutMs: 15_000,
  }),
})

/**
 * The URL a listening Node HTTP server answers on (`http://127.0.0.1:8000`, IPv6 in brackets).
 *
 * @example
 * ```ts
 * const url = serverUrl(app.server) // after listen
 * ```
 */
export function serverUrl(server: Pick<Server, 'address'>): string {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new TypeError('not a TCP server')
  const host = address.address.includes(':') ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}

/**
 * What `listen` hands to {@link startDeployment} for a listening Node HTTP server: its URL, the
 * server, and a `close()` that stops accepting, closes idle keep-alive connections and resolves
 * once the open requests are done.
 */
export function listeningServer(server: Server): ListeningServer {
  return {
    url: serverUrl(server),
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error)
          else resolve()
        })
        server.closeIdleConnections()
      }),
  }
}
