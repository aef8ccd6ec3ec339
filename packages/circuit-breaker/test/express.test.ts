import { createBreakerRegistry } from '@scanner/circuit-breaker'
import { createExpressBreaker } from '@scanner/circuit-breaker/express'
import express from 'express'
import { describe, expect, it, vi } from 'vitest'
import { describeAdapter, socketClient, type MakeClient } from './contract.js'

const makeClient: MakeClient = (registry, options, routes) => {
  const app = express()
  const { middleware, errorHandler } = createExpressBreaker(registry, options)
  app.use(middleware)
  for (const route of routes) {
    app.get(route.path, middleware, async (req, res) => {
      const { status, body } = await route.handler(req.params as Record<string, string>)
      res.status(status).json(body)
    })
  }
  app.use(errorHandler)
  return socketClient(app.listen(0, '127.0.0.1'))
}

describeAdapter('express', makeClient)

describe('express adapter, client gone', () => {
  it('counts a request whose client went away as 499 (not a failure) once the response closes', async () => {
    const registry = createBreakerRegistry({ volumeThreshold: 1 })
    const app = express()
    const { middleware, errorHandler } = createExpressBreaker(registry)
    let reached: () => void = () => undefined
    const inHandler = new Promise<void>((resolve) => {
      reached = resolve
    })
    app.get('/api/slow', middleware, (_req, res) => {
      reached()
      setTimeout(() => res.json({ late: true }), 200)
    })
    app.use(errorHandler)
    const client = await socketClient(app.listen(0, '127.0.0.1'))
    const controller = new AbortController()
    const pending = client.request('/api/slow', {}, controller.signal).catch((e: unknown) => e)
    await inHandler
    controller.abort()
    expect(await pending).toBeInstanceOf(Error)
    await vi.waitFor(() => {
      expect(registry.peek('GET /api/slow')?.stats()).toMatchObject({ successes: 1, failures: 0 })
    })
    expect(registry.peek('GET /api/slow')?.state).toBe('closed')
    await client.close()
    await registry.close()
  })
})
