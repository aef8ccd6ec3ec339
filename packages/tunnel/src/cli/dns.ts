import type { Logger } from '@scanner/core'
import { createDnsMonitor, flushSystemdResolved, useFallbackResolvers } from '@scanner/health'
import type { DnsMonitor, DnsRecoveryAction } from '@scanner/health'
import type { CliConfig } from './config.js'

/**
 * Creates the DNS monitor of `@scanner/health` from the `dns.*` config keys (not started).
 *
 * @example
 * ```ts
 * const report = await createCliDnsMonitor(config).checkNow()
 * ```
 */
export function createCliDnsMonitor(config: CliConfig, logger?: Logger): DnsMonitor {
  const recovery: DnsRecoveryAction[] = config.dns.recovery.map((name) =>
    name === 'flush-systemd-resolved' ? flushSystemdResolved() : useFallbackResolvers(),
  )
  return createDnsMonitor({
    recovery,
    names: config.dns.names,
    fallbacks: config.dns.fallbacks,
    ...(config.dns.systemServers.length > 0 ? { systemServers: config.dns.systemServers } : {}),
    intervalMs: config.dns.intervalMs,
    timeoutMs: config.dns.timeoutMs,
    ...(logger === undefined ? {} : { logger }),
  })
}
