/**
 * The framework-free part of the scanner example APIs: the SQLite store (sql.js, no native
 * build), quotes, scans, the failable upstream quote feed, and the deployment wiring the three
 * servers share (settings from the environment, the choice of tunnel, the shutdown order).
 *
 * @module @scanner-examples/domain
 */
export { openDatabase } from './database.js'
export type { OpenDatabaseOptions, Quote, ScanCriteria, ScannerDatabase } from './database.js'
export { SEED_TICKERS, SEED_DAYS, tradingDays } from './seed.js'
export type { Ticker, SeedTicker } from './seed.js'
export { createQuoteFeed, defaultQuoteFeedOptions, FEED_MODES } from './feed.js'
export type { FeedMode, FeedQuote, QuoteFeed, QuoteFeedOptions } from './feed.js'
export { createScannerApi, parseScanQuery, parseSymbol, SCAN_PARAMS } from './api.js'
export type { ScannerApi } from './api.js'
export { domainError, isDomainError } from './errors.js'
export type { DomainErrorCode } from './errors.js'
export { readConfig, DEFAULT_ADMIN_PORT, PRODUCTION_DRAIN_DELAY_MS } from './config.js'
export type { DeploymentConfig } from './config.js'
export { chooseTunnel, findExecutable } from './cloudflared.js'
export type { TunnelChoice, TunnelExtras } from './cloudflared.js'
export {
  DEMO_FAULTS,
  DEMO_SCENARIOS,
  createDemoSimulatorFiles,
  demoBackoff,
  startDemoFaults,
} from './demo.js'
export type { DemoFault, DemoSimulatorFiles } from './demo.js'
export { DEMO_DNS_NAMES, narrateDns, startDemoDns, startDemoDnsServer } from './demo-dns.js'
export type { DemoDns, DemoDnsMode, DemoDnsServer } from './demo-dns.js'
export { SIMULATED_URL_NOTE, demoTunnelLogger } from './demo-output.js'
export { createDeploymentStatus, withErrorHistory } from './status.js'
export type { DeploymentStatus } from './status.js'
export { runShutdown, handleShutdownSignals } from './shutdown.js'
export type { ShutdownOptions, ShutdownResult, ShutdownStep } from './shutdown.js'
export {
  createDeploymentLogger,
  lazyCheck,
  startDeployment,
  bannerLines,
  dnsMonitorSettings,
  tunnelSettings,
  breakerRoutes,
  healthSettings,
  listeningServer,
  serverUrl,
} from './wiring.js'
export type {
  Deployment,
  ListeningServer,
  LogDestination,
  StartDeploymentOptions,
  StoppableTunnel,
} from './wiring.js'
export { createScannerServices } from './services.js'
export { operatorRoutes } from './operator.js'
export { exitOnStartupError, listenError, startupErrorLine } from './startup.js'
export type { ScannerServices } from './services.js'
