// The Express contract again, on Express 4 (the `express4` alias of express@^4.21): the peer
// range covers both majors, so both run the same suite.
import type { AddressInfo } from 'node:net'
import express, { type Router } from 'express4'
import { Agent, fetch } from 'undici'
import { createExpressHealthHandler } from '@scanner/health/express'
import { describeAdapter, type Client } from './contract.js'

describeAdapter('express 4', async (health): Promise<Client> => {
  const app = express()
  // In this workspace the adapter's declarations name @types/express 5; an Express 4 project
  // resolves them to its own @types/express 4 (scripts/pack-test compiles one). Hence the cast.
  app.use(createExpressHealthHandler(health) as unknown as Router)
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve).once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  const dispatcher = new Agent({ connections: 64 })
  return {
    async request(path, init = {}) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
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
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve()
        })
        server.closeAllConnections()
      })
    },
  }
})
