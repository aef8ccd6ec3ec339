import type { AddressInfo } from 'node:net'
import express from 'express'
import { Agent, fetch } from 'undici'
import { describe, expect, it } from 'vitest'
import { createHealth } from '@scanner/health'
import { createExpressHealthHandler } from '@scanner/health/express'
import { describeAdapter, type Client } from './contract.js'

async function listen(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (error) => {
      if (error) {
        reject(error)
        return
      }
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => {
              done()
            })
            server.closeAllConnections()
          }),
      })
    })
  })
}

describeAdapter('express', async (health): Promise<Client> => {
  const app = express()
  app.use(createExpressHealthHandler(health))
  const server = await listen(app)
  const dispatcher = new Agent({ connections: 64 })
  return {
    async request(path, init = {}) {
      const res = await fetch(server.url + path, {
        method: init.method ?? 'GET',
        headers: init.headers,
        dispatcher,
      })
      const headers: Record<string, string> = {}
      res.headers.forEach((value, key) => {
        headers[key] = value
      })
      return { status: res.status, headers, body: await res.text() }
    },
    async close() {
      await dispatcher.close()
      await server.close()
    },
  }
})

describe('express adapter specifics', () => {
  it('leaves other routes to the app and works under a mount path', async () => {
    const health = createHealth()
    const app = express()
    app.use('/internal', createExpressHealthHandler(health))
    app.get('/health/live', (_req, res) => {
      res.status(418).send('app route')
    })
    const server = await listen(app)
    try {
      expect((await fetch(`${server.url}/internal/health/live/`)).status).toBe(200)
      expect((await fetch(`${server.url}/health/live`)).status).toBe(418)
      expect((await fetch(`${server.url}/internal/health/other`)).status).toBe(404)
    } finally {
      await server.close()
      await health.close()
    }
  })
})
