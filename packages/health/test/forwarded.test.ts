/**
 * The details rule behind a forwarder that passes headers on unchanged (as cloudflared does):
 * every request reaches the framework from 127.0.0.1, and each header a proxy or Cloudflare's
 * edge adds, alone, must hide the details. Real listeners on port 0, all three frameworks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHealth, databaseCheck, type Health } from '@scanner/health'
import { FRAMEWORKS } from './fixtures/frameworks.js'
import { startForwarder, type Listening } from './fixtures/servers.js'

/** Each header as the edge or a proxy sends it (values from Cloudflare's documentation). */
const EDGE_HEADERS: readonly (readonly [string, string])[] = [
  ['CF-Ray', '230b030023ae2822-SJC'],
  ['CF-Visitor', '{"scheme":"https"}'],
  ['CDN-Loop', 'cloudflare'],
  ['X-Forwarded-Proto', 'https'],
  ['X-Forwarded-Host', 'api.example.com'],
  ['X-Forwarded-Port', '443'],
  ['Via', '1.1 proxy.example.com'],
  ['Forwarded', 'for=203.0.113.9;proto=https'],
  ['X-Forwarded-For', '203.0.113.9'],
  ['X-Real-IP', '203.0.113.9'],
  ['CF-Connecting-IP', '203.0.113.9'],
  ['CF-Connecting-IPv6', '2001:db8::9'],
  ['True-Client-IP', '203.0.113.9'],
  ['CF-IPCountry', 'NL'],
]

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe.each(Object.keys(FRAMEWORKS))('%s behind a loopback forwarder', (name) => {
  let health: Health
  let origin: Listening | undefined
  let forwarder: Listening | undefined

  beforeAll(async () => {
    health = createHealth({
      service: 'scanner-api',
      version: '1.2.3',
      checks: [databaseCheck({ ping: () => undefined })],
    })
    const start = FRAMEWORKS[name]
    if (start === undefined) throw new Error(name)
    origin = await start(health)
    forwarder = await startForwarder(origin.url)
  })

  afterAll(async () => {
    await forwarder?.close()
    await origin?.close()
    await health.close()
  })

  it('shows details to a plain loopback request, direct or forwarded', async () => {
    for (const base of [origin?.url, forwarder?.url]) {
      const detailed = await get(`${String(base)}/health/detailed/`)
      expect(detailed.status).toBe(200)
      expect(detailed.body).toHaveProperty('components.database.status', 'healthy')
      const basic = await get(`${String(base)}/health/`)
      expect(basic.body).toMatchObject({ version: '1.2.3', system: expect.any(Object) })
    }
  })

  it.each(EDGE_HEADERS)('hides details from a request carrying only %s', async (header, value) => {
    const detailed = await get(`${String(forwarder?.url)}/health/detailed/`, { [header]: value })
    expect(detailed.status).toBe(200)
    expect(Object.keys(detailed.body).sort()).toEqual(['status', 'timestamp'])
    const basic = await get(`${String(forwarder?.url)}/health/`, { [header]: value })
    expect(basic.status).toBe(200)
    expect(Object.keys(basic.body).sort()).toEqual(['service', 'status', 'timestamp'])
  })
})
