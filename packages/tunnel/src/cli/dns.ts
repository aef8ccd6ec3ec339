import type { Logger } from '@scanner/core'
import {
  createDnsMonitor,
  flushSystemdResolved,
  restoreSystemResolvers,
  useFallbackResolvers,
} from '@scanner/health'
import type { DnsMonitor, DnsRecoveryAction } from '@scanner/health'
import type { Registry } from 'prom-client'
import type { CliConfig } from './config.js'

/**
 * Creates the DNS monitor of `@scanner/health` from the `dns.*` config keys (not started). With
 * the `use-fallbacks` recovery, the watchdog's own lookups go through the fallback resolvers
 * during a DNS failure episode and back to the system resolver on `recovered`.
 *
 * @example
 * ```ts
 * const report = await createCliDnsMonitor(config).checkNow()
 * ```
 */
export function createCliDnsMonitor(
  config: CliConfig,
  logger?: Logger,
  metrics?: Registry,
): DnsMonitor {
  const recovery: DnsRecoveryAction[] = config.dns.recovery.map((name) =>
    name === 'flush-systemd-resolved' ? flushSystemdResolved() : useFallbackResolvers(),
  )
  const monitor = createDnsMonitor({
    recovery,
    names: config.dns.names,
    fallbacks: config.dns.fallbacks,
    ...(config.dns.systemServers.length > 0 ? { systemServers: config.dns.systemServers } : {}),
    intervalMs: config.dns.intervalMs,
    timeoutMs: config.dns.timeoutMs,
    ...(logger === undefined ? {} : { logger }),
    ...(metrics === undefined ? {} : { metrics }),
  })
  // use-fallbacks lasts for the failure episode: back to the system resolver once it works.
  if (config.dns.recovery.includes('use-fallbacks')) {
    monitor.on('recovered', () => {
      restoreSystemResolvers()
    })
  }
  return monitor
}
