import { spawn } from 'node:child_process'
import { Resolver } from 'node:dns/promises'
import { describe, expect, it } from 'vitest'
import { commandLine, descendants, isAlive, startLoopbackDns } from './testing.js'

describe('startLoopbackDns', () => {
  it('answers A questions with 127.0.0.1 and nothing else, on loopback only', async () => {
    const dns = await startLoopbackDns()
    try {
      const resolver = new Resolver({ timeout: 1000, tries: 1 })
      resolver.setServers([dns.address])
      await expect(resolver.resolve4('region1.v2.argotunnel.com')).resolves.toEqual(['127.0.0.1'])
      await expect(resolver.resolve6('region1.v2.argotunnel.com')).rejects.toMatchObject({
        code: 'ENODATA',
      })
      expect(dns.queries()).toBe(2)
    } finally {
      await dns.close()
    }
  })
})

describe('process helpers', () => {
  it('finds descendants and tells when they are gone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], {
      stdio: 'ignore',
    })
    await new Promise((resolve) => child.once('spawn', resolve))
    const pid = child.pid!
    expect(descendants(process.pid)).toContain(pid)
    expect(commandLine(pid)).toContain('setTimeout')
    expect(isAlive(pid)).toBe(true)
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    expect(isAlive(pid)).toBe(false)
    expect(commandLine(999_999_999)).toBeUndefined()
  })
})
