import { fastifyBreakerPlugin } from '@scanner/circuit-breaker/fastify'
import Fastify from 'fastify'
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
