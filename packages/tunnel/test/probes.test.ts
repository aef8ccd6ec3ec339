import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { stopAll, tunnelFor, waitFor } from './helpers.js'

const servers: Server[] = []
afterEach(async () => {
  await stopAll()
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

/** An HTTP server on 127.0.0.1 answering `status()`; counts requests. */
async function serve(status: () => number): Promise<{ url: string; hits: () => number }> {
  let hits = 0
  const server = createServer((_req, res) => {
    hits++
    res.writeHead(status())
    res.end()
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const address = server.address() as { port: number }
  return { url: `http://127.0.0.1:${address.port}/health/`, hits: () => hits }
}

describe('local and public probes', () => {
  it('restarts when the origin answers but the public URL fails N times in a row', async () => {
    const local = await serve(() => 200)
    const pub = await serve(() => 502)
    const tunnel = tunnelFor({
      localUrl: local.url,
      publicUrl: pub.url,
      probeIntervalMs: 100,
      probeTimeoutMs: 1000,
      publicUrlFailures: 3,
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    await waitFor(() => tunnel.status().restarts.total > 0, 10_000, 'public-url restart')
    expect(tunnel.status().restarts.byReason['public-url']).toBe(1)
    expect(pub.hits()).toBeGreaterThanOrEqual(3)
  })

  it('reports a failing origin without blaming (restarting) the tunnel', async () => {
    const local = await serve(() => 503)
    const pub = await serve(() => 502)
    const tunnel = tunnelFor({
      localUrl: local.url,
      publicUrl: pub.url,
      probeIntervalMs: 50,
      publicUrlFailures: 2,
    })
    await tunnel.start()
    await tunnel.waitForReady({ timeoutMs: 10_000 })
    await waitFor(() => local.hits() >= 6 && pub.hits() >= 6, 10_000, 'six probe rounds')
    const status = tunnel.status()
    expect(status.restarts.total).toBe(0)
    expect(status.probes.local).toMatchObject({ ok: false, status: 503 })
    expect(status.probes.public).toMatchObject({ ok: false, status: 502 })
    expect(status.probes.publicFailures).toBe(0)
    expect(status.state).toBe('running')
  })
})
