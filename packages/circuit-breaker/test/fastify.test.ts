import { createBreakerRegistry } from '@scanner/circuit-breaker'
import { fastifyBreakerPlugin } from '@scanner/circuit-breaker/fastify'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { describeAdapter, type MakeClient } from './contract.js'

const makeClient: MakeClient = async (registry, options, routes) => {
  const app = Fastify({ logger: false })
  await app.register(fastifyBreakerPlugin, { registry, ...options })
  for (const route of routes) {
    app.get(route.path, async (request, reply) => {
      const { status, body } = await route.handler(request.params as Record<string, string>)
      return reply.code(status).send(body)
    })
  }
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
