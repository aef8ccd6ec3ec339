// The Hono contract on a real socket under @hono/node-server 1.19 and 2 (the peer range covers
// both majors): the adapter reads Node's own request (`c.env.incoming`) that each passes.
// hono.test.ts runs the same contract through app.request (the Fetch API only).
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener as listenerV1 } from '@hono/node-server'
import { getRequestListener as listenerV2 } from '@hono/node-server-v2'
import { Hono } from 'hono'
import { Agent, fetch } from 'undici'
import { createHonoHealthApp } from '@scanner/health/hono'
import { describeAdapter, type Client } from './contract.js'

type FetchListener = (fetch: Hono['fetch']) => RequestListener

function onNodeServer(getRequestListener: FetchListener) {
  return async (health: Parameters<typeof createHonoHealthApp>[0]): Promise<Client> => {
    const app = new Hono()
    app.route('/', createHonoHealthApp(health))
    const server = createServer(getRequestListener(app.fetch)).listen(0, '127.0.0.1')
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
  }
}

describeAdapter('hono on @hono/node-server 1', onNodeServer(listenerV1))
describeAdapter('hono on @hono/node-server 2', onNodeServer(listenerV2))
