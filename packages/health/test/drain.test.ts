import { Agent, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { closeConnectionsWhenDraining, createHealth, type Health } from '@scanner/health'
import { createExpressHealthHandler } from '@scanner/health/express'
import { fastifyHealthPlugin } from '@scanner/health/fastify'
import { createHonoHealthApp } from '@scanner/health/hono'

interface Started {
  readonly server: Server
  close(): Promise<void>
}

function listening(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (server.listening) resolve()
    server.once('listening', resolve)
    server.once('error', reject)
  })
}

const frameworks: Record<string, (health: Health) => Promise<Started>> = {
  async express(health) {
    const app = express()
    app.use(createExpressHealthHandler(health))
    app.get('/api', (_req, res) => {
      res.json({ ok: true })
    })
    const server = app.listen(0, '127.0.0.1')
    await listening(server)
    return { server, close: () => closeServer(server) }
  },
  async fastify(health) {
    const app = Fastify()
    await app.register(fastifyHealthPlugin, { health })
    app.get('/api', () => ({ ok: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { server: app.server, close: () => app.close() }
  },
  async hono(health) {
    const app = new Hono()
    app.route('/', createHonoHealthApp(health))
    app.get('/api', (c) => c.json({ ok: true }))
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
    await listening(server)
    return { server, close: () => closeServer(server) }
  },
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve()
    })
    server.closeAllConnections()
  })
}

/** One GET on a keep-alive agent: the status, the Connection header, and whether the server closed the socket. */
function get(
  server: Server,
  agent: Agent,
  path: string,
): Promise<{ status: number; connection: string | undefined; socketClosed: Promise<void> }> {
  const { port } = server.address() as AddressInfo
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const socketClosed = new Promise<void>((done) => {
        res.socket.once('close', () => {
          done()
        })
      })
      res.resume()
      res.once('end', () => {
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, socketClosed })
      })
    })
    req.once('error', reject)
    req.end()
  })
}

describe.each(Object.keys(frameworks))('closeConnectionsWhenDraining on %s', (name) => {
  let started: Started | undefined
  let agent: Agent | undefined
  afterEach(async () => {
    agent?.destroy()
    await started?.close()
  })

  it('keeps connections alive until drain(), then answers every route with Connection: close', async () => {
    const health = createHealth({ checks: [] })
    const start = frameworks[name]
    if (start === undefined) throw new Error(name)
    started = await start(health)
    agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const dispose = closeConnectionsWhenDraining(started.server, health)

    const before = await get(started.server, agent, '/api')
    expect(before).toMatchObject({ status: 200, connection: 'keep-alive' })
    // The same socket serves the next request: nothing closed it.
    const again = await get(started.server, agent, '/health/ready/')
    expect(again).toMatchObject({ status: 200, connection: 'keep-alive' })

    health.drain()
    const api = await get(started.server, agent, '/api')
    expect(api).toMatchObject({ status: 200, connection: 'close' })
    await api.socketClosed
    const ready = await get(started.server, agent, '/health/ready/')
    expect(ready).toMatchObject({ status: 503, connection: 'close' })
    await ready.socketClosed

    dispose()
    expect((await get(started.server, agent, '/api')).connection).toBe('keep-alive')
    await health.close()
  })
})
