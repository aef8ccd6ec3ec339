import { lookup } from 'node:dns/promises'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { restoreSystemResolvers } from '@scanner/health'
import { loadConfig } from '../../src/cli/config.js'
import { createCliDnsMonitor } from '../../src/cli/dns.js'
import { dnsSection, startDns, tempDir } from './helpers.js'
import type { LoopbackDns } from './helpers.js'

let system: LoopbackDns
let fallback: LoopbackDns
let dir: string
let cleanup: () => void

beforeAll(async () => {
  system = await startDns('servfail')
  fallback = await startDns('ok')
  ;({ dir, cleanup } = tempDir())
})

afterAll(async () => {
  restoreSystemResolvers()
  await Promise.all([system.close(), fallback.close()])
  cleanup()
})

describe('the CLI DNS monitor with the use-fallbacks recovery', () => {
  it("switches the watchdog's own lookups for the failure episode and back on recovery", async () => {
    const file = join(dir, 'dns.yaml')
    writeFileSync(
      file,
      [...dnsSection(system.address, fallback.address, ['recovery: [use-fallbacks]']), ''].join(
        '\n',
      ),
    )
    const { config } = await loadConfig({ file, env: {}, cwd: dir })
    const monitor = createCliDnsMonitor(config)
    const name = 'region1.v2.argotunnel.com'
    const original = (await import('node:dns')).default.lookup
    try {
      // The system resolver fails and the fallback answers: a DNS failure, so the process
      // resolves through the fallback (which answers 127.0.0.1 for any name).
      expect((await monitor.checkNow()).status).toBe('dns-failure')
      expect((await import('node:dns')).default.lookup).not.toBe(original)
      expect(await lookup(name, { family: 4 })).toEqual({ address: '127.0.0.1', family: 4 })
      // The system resolver works again: recovered, and the original lookup is back.
      system.mode = 'ok'
      expect((await monitor.checkNow()).status).toBe('ok')
      expect((await import('node:dns')).default.lookup).toBe(original)
    } finally {
      await monitor.close()
    }
  })
})
