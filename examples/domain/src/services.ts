import pretty from 'pino-pretty'
import { Registry, collectDefaultMetrics } from 'prom-client'
import { breakerCheck, createBreakerRegistry, type BreakerRegistry } from '@scanner/circuit-breaker'
import type { ScannerLogger } from '@scanner/core'
import {
  closeConnectionsWhenDraining,
  createDnsMonitor,
  createStatusHistory,
  createHealth,
  databaseCheck,
  dnsCheck,
  systemCheck,
  type Health,
  type OperatorRouteHandler,
} from '@scanner/health'
import { createTunnel, tunnelCheck, type Tunnel } from '@scanner/tunnel'
import { fakeCloudflaredPath } from '@scanner/tunnel/testing'
import { createScannerApi, type ScannerApi } from './api.js'
import { readConfig, type DeploymentConfig } from './config.js'
import { openDatabase } from './database.js'
import { narrateDns, startDemoDns } from './demo-dns.js'
import { demoTunnelLogger } from './demo-output.js'
import { operatorRoutes } from './operator.js'
import { createQuoteFeed } from './feed.js'
import { createDeploymentStatus, withErrorHistory } from './status.js'
import {
  breakerRoutes,
  createDeploymentLogger,
  dnsMonitorSettings,
  healthSettings,
  lazyCheck,
  startDeployment,
  tunnelSettings,
  type Deployment,
  type StartDeploymentOptions,
} from './wiring.js'

/** Everything a framework server needs, wired once: what is not about the framework. */
export interface ScannerServices {
  readonly config: DeploymentConfig
  readonly logger: ScannerLogger
  /**
   * One prom-client registry handed to every package; served on `GET /metrics` of the operator
   * port (`ADMIN_HOST`:`ADMIN_PORT`), never on the public app.
   */
  readonly metrics: Registry
  /** The scanner API's operations (tickers, quotes, scan, the upstream feed). */
  readonly api: ScannerApi
  /** Circuit breakers per route pattern; hand it to the framework adapter. */
  readonly breakers: BreakerRegistry
  /** Health endpoints: database, system, DNS, breakers and tunnel checks. */
  readonly health: Health
  /** The tunnel supervisor, once {@link ScannerServices.start} created it. */
  readonly tunnel: Tunnel | undefined
  /**
   * Listens (through the framework's `listen`), opens the operator port (`/metrics`, details,
   * `/api/feed/mode` and the extra `operatorRoutes`), starts the tunnel and installs the
   * SIGTERM/SIGINT shutdown: drain readiness, stop the tunnel, close the server, then the
   * health endpoints (and operator port), DNS monitor and database. A listener that cannot
   * start rejects with `ERR_EXAMPLE_LISTEN` naming the setting and the address.
   */
  start(
    framework: string,
    listen: StartDeploymentOptions<Tunnel>['listen'],
  ): Promise<Deployment<Tunnel>>
}

/**
 * Reads the configuration from the environment and wires the `@scanner/*` packages for the
 * example servers: logger, metrics registry, database, feed, breakers, DNS monitor, health.
 *
 * @example
 * ```ts
 * const services = await createScannerServices()
 * const app = express()
 * app.use(createExpressHealthHandler(services.health))
 * // ... routes (no /metrics: the operator port serves it) ...
 * await services.start('express', () => listen(app, services.config))
 * ```
 */
export async function createScannerServices(
  options: {
    readonly env?: NodeJS.ProcessEnv
    readonly argv?: readonly string[]
    /** More routes for the operator port (a status page...), next to `/api/feed/mode`. */
    readonly operatorRoutes?: Readonly<Record<string, OperatorRouteHandler>>
  } = {},
): Promise<ScannerServices> {
  const config = readConfig(options.env, options.argv)
  // The status page's history; the logger also records errors logged with an error ID in it.
  const history = createStatusHistory()
  const logger = withErrorHistory(
    createDeploymentLogger(config, { name: 'scanner-api', pretty }),
    history,
  )

  const metrics = new Registry()
  collectDefaultMetrics({ register: metrics })

  const db = await openDatabase({ path: config.databasePath })
  const feed = createQuoteFeed({ mode: config.feedMode })
  const api = createScannerApi({ db, feed })

  const breakers = createBreakerRegistry({ logger, metrics, routes: breakerRoutes })
  // Demo mode: the DNS monitor asks the demo's own loopback resolvers, never the internet.
  const print = (line: string): void => {
    console.log(line)
  }
  const demoDns = config.demo && config.dnsCheck ? await startDemoDns({ print }) : undefined
  const dns = config.dnsCheck
    ? createDnsMonitor({
        ...(demoDns?.monitorSettings ?? dnsMonitorSettings(config)),
        logger,
        metrics,
      })
    : undefined
  if (demoDns !== undefined && dns !== undefined) {
    narrateDns(dns, print)
  }
  // In demo mode the first round waits until the deployment started: a round during the busy
  // start-up could time out and narrate a network outage that never was.
  if (demoDns === undefined) dns?.start()
  let tunnel: Tunnel | undefined
  const health = createHealth({
    ...healthSettings(config),
    logger,
    metrics,
    checks: [
      databaseCheck({ ping: () => db.ping() }),
      systemCheck(),
      ...(dns === undefined ? [] : [dnsCheck(dns)]),
      breakerCheck(breakers),
      lazyCheck('tunnel', () => (tunnel === undefined ? undefined : tunnelCheck(tunnel))),
    ],
  })
  const status = createDeploymentStatus({ history, health, breakers, dns, tunnel: () => tunnel })

  return {
    config,
    logger,
    metrics,
    api,
    breakers,
    health,
    get tunnel() {
      return tunnel
    },
    start: (framework, listen) =>
      startDeployment({
        config,
        logger,
        framework,
        simulatorBin: fakeCloudflaredPath,
        listen: async () => {
          const listening = await listen()
          // From health.drain() on, every response says `Connection: close`.
          closeConnectionsWhenDraining(listening.server, health)
          return listening
        },
        listenOperator: () =>
          health.listenOperator({
            host: config.adminHost,
            port: config.adminPort,
            metrics,
            routes: { ...operatorRoutes(api), ...status.routes, ...options.operatorRoutes },
          }),
        startTunnel: (choice, localUrl) => {
          tunnel = createTunnel({
            ...tunnelSettings(choice, config, localUrl, dns),
            logger: config.demo && choice.kind === 'simulator' ? demoTunnelLogger(logger) : logger,
            metrics,
          })
          status.watchTunnel(tunnel, { simulated: choice.kind === 'simulator' })
          return tunnel
        },
        ...(demoDns === undefined ? {} : { demoDns }),
        drain: () => {
          health.drain()
        },
        closers: [
          { name: 'close status page', run: () => status.close() },
          { name: 'close health', run: () => health.close() },
          { name: 'close DNS monitor', run: () => dns?.close() ?? Promise.resolve() },
          ...(demoDns === undefined
            ? []
            : [{ name: 'close demo DNS servers', run: () => demoDns.close() }]),
          {
            name: 'close database',
            run: () => {
              db.close()
            },
          },
        ],
      }).then((deployment) => {
        if (demoDns !== undefined) dns?.start()
        return deployment
      }),
  }
}
