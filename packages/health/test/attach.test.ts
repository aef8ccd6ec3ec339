/**
 * attachHealth: the probe fast path on an Express server. The health paths are answered from
 * the server's 'request' event (Express middleware never runs for them), with the same
 * answers as the Express adapter; everything else reaches Express unchanged.
 */
import { createServer, request } from 'node:http'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { attachHealth, createHealth, databaseCheck, type Health } from '@scanner/health'
import { createExpressHealthHandler } from '@scanner/health/express'
import { listenOnLoopback, startForwarder, type Listening } from './fixtures/servers.js'

const opened: (Listening | Health)[] = []
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close()
})

interface Raw {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: string
}

function send(url: string, method = 'GET', headers: Record<string, string> = {}) {
  return new Promise<Raw>((resolve, reject) => {
    request(url, { method, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
    })
      .on('error', reject)
      .end()
  })
}

/** An Express app whose every request is counted by a middleware, with or without the fast path. */
async function start(fast: boolean, shared?: Health) {
  const health =
    shared ??
    createHealth({
      service: 'scanner-api',
      version: '1.2.3',
      checks: [databaseCheck({ ping: () => undefined })],
    })
  const seen: string[] = []
  const app = express()
  app.use((req, res, next) => {
    seen.push(`${req.method} ${req.url}`)
    res.setHeader('x-request-id', 'from-express')
    next()
  })
  app.use(createExpressHealthHandler(health))
  app.get('/api', (_req, res) => {
    res.json({ ok: true })
  })
  const server = createServer(app)
  if (fast) attachHealth(server, health)
  const listening = await listenOnLoopback(server)
  opened.push(health, listening)
  return { health, seen, url: listening.url, server }
}

const normalise = (raw: Raw) => ({
  status: raw.status,
  contentType: raw.headers['content-type'],
  cacheControl: raw.headers['cache-control'],
  contentLength: raw.headers['content-length'],
  chunked: raw.headers['transfer-encoding'],
  body: raw.body
    .replace(/"timestamp":"[^"]+"/, '"timestamp":"T"')
    .replace(/"system":\{[^}]*\}/, ''),
})

describe('attachHealth', () => {
  it('answers the health paths before Express, as the Express adapter does', async () => {
    // One health instance behind both servers: one cached result, the same bodies.
    const fast = await start(true)
    const slow = await start(false, fast.health)
    for (const path of ['/health/', '/health/detailed/', '/health/ready', '/health/live/?x=1']) {
      for (const method of ['GET', 'HEAD']) {
        for (const accept of ['application/json', 'application/health+json']) {
          const a = await send(fast.url + path, method, { accept })
          const b = await send(slow.url + path, method, { accept })
          expect(normalise(a), `${method} ${path}`).toEqual(normalise(b))
          expect(a.headers['x-request-id']).toBeUndefined() // Express never ran
          expect(a.headers['content-length']).toMatch(/^\d+$/)
        }
      }
    }
    expect(fast.seen).toEqual([])
    expect(slow.seen.length).toBeGreaterThan(0)
  })

  it('passes everything else to Express unchanged', async () => {
    const { url, seen } = await start(true)
    const api = await send(`${url}/api`)
    expect(api.status).toBe(200)
    expect(api.body).toBe('{"ok":true}')
    expect(api.headers['x-request-id']).toBe('from-express')
    const post = await send(`${url}/health/live/`, 'POST')
    expect(post.status).toBe(404) // Express's own answer: the adapter leaves POST to the app
    expect((await send(`${url}/health/nope`)).status).toBe(404)
    expect(seen).toEqual(['GET /api', 'POST /health/live/', 'GET /health/nope'])
  })

  it('keeps the details rule and draining', async () => {
    const { url, health } = await start(true)
    const forwarder = await startForwarder(url)
    opened.push(forwarder)
    const local = JSON.parse((await send(`${url}/health/detailed/`)).body) as object
    expect(local).toHaveProperty('components.database.status', 'healthy')
    const proxied = await send(`${forwarder.url}/health/detailed/`, 'GET', { 'cf-ray': '1-SJC' })
    expect(Object.keys(JSON.parse(proxied.body) as object).sort()).toEqual(['status', 'timestamp'])
    health.drain()
    const ready = await send(`${url}/health/ready/`)
    expect(ready.status).toBe(503)
    expect(ready.body).toBe('{"status":"draining"}')
    expect((await send(`${url}/health/live/`)).status).toBe(200)
  })

  it('detaches: Express answers the health paths again', async () => {
    const health = createHealth()
    opened.push(health)
    const seen: string[] = []
    const app = express()
    app.use((req, _res, next) => {
      seen.push(req.url)
      next()
    })
    app.use(createExpressHealthHandler(health))
    const server = createServer(app)
    const detach = attachHealth(server, health)
    const listening = await listenOnLoopback(server)
    opened.push(listening)
    await send(`${listening.url}/health/live/`)
    expect(seen).toEqual([])
    detach()
    detach()
    expect(server.listenerCount('request')).toBe(1)
    expect((await send(`${listening.url}/health/live/`)).status).toBe(200)
    expect(seen).toEqual(['/health/live/'])
  })
})
