import type { AddressInfo } from 'node:net'
import { createBreakerRegistry } from '@scanner/circuit-breaker'
import { fastifyBreakerPlugin } from '@scanner/circuit-breaker/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { describeAdapter, type Client, type MakeClient } from './contract.js'
import { describeRouteKeys, type MakeMountedClient } from './route-keys.js'
import { describeClientFaults, type MakeEchoServer } from './client-faults.js'

const makeClient: MakeClient = async (registry, options, routes) => {
  const app = Fastify({ logger: false })
  await app.register(fastifyBreakerPlugin, { registry, ...options })
  for (const route of routes) {
    app.get(route.path, async (request, reply) => {
      const { status, body } = await route.handler(request.params as Record<string, string>)
      return reply.code(status).send(body)
    })
  }
  return injectClient(app)
}

async function injectClient(app: FastifyInstance): Promise<Client> {
  await app.ready()
  return {
    async request(path, headers = {}) {
      const res = await app.inject({ method: 'GET', url: path, headers })
      const header = (name: string): string | null => {
        const value = res.headers[name]
        return value === undefined ? null : String(value)
      }
      return { status: res.statusCode, header, text: res.body }
    },
    async close() {
      await app.close()
    },
  }
}

// Without a valid X-Request-Id, Fastify's own request.id (genReqId) is used.
describeAdapter('fastify', makeClient, { generatedRequestId: /^req-\d+$/ })

const makeMountedClient: MakeMountedClient = async (registry) => {
  const app = Fastify({ logger: false })
  await app.register(fastifyBreakerPlugin, { registry })
  await app.register(
    async (tenant) => {
      await tenant.register(
        (shop, _options, done) => {
          shop.get('/orders/:id', () => ({ ok: true }))
          done()
        },
        { prefix: '/shops/:shop' },
      )
      tenant.get('/down', (_request, reply) => reply.code(502).send({ ok: false }))
    },
    { prefix: '/t/:tenant' },
  )
  return injectClient(app)
}

describeRouteKeys('fastify', makeMountedClient)

const makeEchoServer: MakeEchoServer = async (registry, options) => {
  const app = Fastify({ logger: false })
  await app.register(fastifyBreakerPlugin, { registry, ...options })
  app.post('/api/echo', (request) => request.body)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    port: (app.server.address() as AddressInfo).port,
    async close() {
      app.server.closeAllConnections()
      await app.close()
    },
  }
}

describeClientFaults('fastify', makeEchoServer)

describe('fastify plugin registration', () => {
  it('declares its request property once, so it can be registered more than once', async () => {
    const app = Fastify({ logger: false })
    await app.register(fastifyBreakerPlugin, { registry: createBreakerRegistry() })
    await app.register(fastifyBreakerPlugin, { registry: createBreakerRegistry() })
    app.get('/ok', () => ({ ok: true }))
    const res = await app.inject({ method: 'GET', url: '/ok', headers: { 'x-request-id': 'abc' } })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-request-id']).toBe('abc')
    await app.close()
  })
})
