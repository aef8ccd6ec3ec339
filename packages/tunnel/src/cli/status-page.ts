/*
 * The watchdog's status page (`@scanner/health`'s status module) on the CLI's status listener:
 * one history fed by the tunnel, the DNS monitor and the origin service's exits, and a snapshot
 * with the tunnel and two components (origin, dns).
 */
import { createStatusHistory, createStatusPage, recordDns, recordTunnel } from '@scanner/health'
import type {
  DnsMonitor,
  StatusComponentSnapshot,
  StatusPage,
  StatusSnapshot,
} from '@scanner/health'
import type { ProcessSupervisor, Tunnel } from '../index.js'

/** Where the page lives on the status listener (`/status` stays the JSON document). */
export const STATUS_PAGE_PATH = '/status/page'

/** The page and what it subscribed to. */
export interface WatchdogPage {
  readonly page: StatusPage
  /** Ends the event streams and the subscriptions. */
  close(): Promise<void>
}

const ORIGIN_HEALTH: Readonly<Record<string, string>> = {
  running: 'healthy',
  starting: 'degraded',
  degraded: 'degraded',
  stopping: 'degraded',
  backoff: 'unhealthy',
  stopped: 'unhealthy',
  failed: 'unhealthy',
}

/**
 * Creates the page at {@link STATUS_PAGE_PATH} (`/status/page`, `/status/page/events`,
 * `/status/page/history.json`).
 */
export function createWatchdogPage(sources: {
  readonly tunnel: Tunnel
  readonly origin: ProcessSupervisor | undefined
  readonly dns: DnsMonitor | undefined
  /** True once the watchdog is stopping: the origin's exit is then no error. */
  readonly stopping?: () => boolean
}): WatchdogPage {
  const history = createStatusHistory()
  const disposers = [recordTunnel(history, sources.tunnel)]
  if (sources.dns !== undefined) disposers.push(recordDns(history, sources.dns))
  if (sources.origin !== undefined) {
    disposers.push(
      sources.origin.on('exit', ({ exitCode, signal }) => {
        if (exitCode === 0 || sources.stopping?.() === true) return
        history.add({
          kind: 'error',
          source: 'origin',
          message: `origin service exited ${signal === null ? `with code ${String(exitCode)}` : `on signal ${signal}`}`,
        })
      }),
    )
  }
  const snapshot = (): StatusSnapshot => {
    const components: Record<string, StatusComponentSnapshot> = {}
    if (sources.origin !== undefined) {
      const state = sources.origin.status().state
      components.origin = { status: ORIGIN_HEALTH[state] ?? 'degraded', state }
    }
    if (sources.dns !== undefined) {
      const state = sources.dns.state
      components.dns = {
        status: state === 'ok' ? 'healthy' : state === 'network-down' ? 'unhealthy' : 'degraded',
        state,
      }
    }
    const statuses = Object.values(components).map((c) => c.status)
    return {
      at: Date.now(),
      tunnel: sources.tunnel.status(),
      ...(statuses.length === 0
        ? {}
        : {
            health: {
              status: statuses.includes('unhealthy')
                ? 'unhealthy'
                : statuses.includes('degraded')
                  ? 'degraded'
                  : 'healthy',
              components,
            },
          }),
    }
  }
  const page = createStatusPage({
    history,
    snapshot,
    title: 'scanner-tunnel watchdog',
    basePath: STATUS_PAGE_PATH,
  })
  return {
    page,
    async close() {
      for (const dispose of disposers) dispose()
      await page.close()
    },
  }
}
