import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { createHealth } from '@scanner/health'
import { fastifyHealthPlugin } from '@scanner/health/fastify'
import { describeAdapter, type Client } from './contract.js'

describeAdapter('fastify', async (health): Promise<Client> => {
  const app = Fastify()
  await app.register(fastifyHealthPlugin, { health })
  await app.ready()
  return {
    async request(path, init = {}) {
      const res = await app.inject({
        method: (init.method ?? 'GET') as 'GET',
        url: path,
        headers: init.headers,
      })
      const headers: Record<string, string> = {}
      for (const [key, value] of Object.entries(res.headers)) {
        if (value !== undefined) headers[key] = String(value)
      }
      return { status: res.statusCode, headers, body: res.body }
    },
    close: () => app.close(),
  }
})

describe('fastify adapter specifics', () => {
  it("honours register's prefix", async () => {
    const health = createHealth()
    const app = Fastify()
    await app.register(fastifyHealthPlugin, { health, prefix: '/status' })
    try {
      for (const url of [
        '/status',
        '/status/',
        '/status/live',
        '/status/live/',
        '/status/ready/',
      ]) {
        expect((await app.inject({ url })).statusCode).toBe(200)
      }
      expect((await app.inject({ url: '/health/live/' })).statusCode).toBe(404)
    } finally {
      await app.close()
      await health.close()
    }
  })

  it.each([
    ['top level', { ignoreTrailingSlash: true }],
    ['routerOptions', { routerOptions: { ignoreTrailingSlash: true } }],
  ])('serves both spellings when the app ignores trailing slashes (%s)', async (_, options) => {
    const health = createHealth()
    for (const prefix of [undefined, '/status']) {
      const app = Fastify(options)
      await app.register(fastifyHealthPlugin, { health, ...(prefix ? { prefix } : {}) })
      try {
        const base = prefix ?? '/health'
        for (const url of [base, `${base}/`, `${base}/live`, `${base}/live/`, `${base}/ready/`]) {
          expect((await app.inject({ url })).statusCode, url).toBe(200)
        }
        expect((await app.inject({ url: `${base}/live`, method: 'HEAD' })).statusCode).toBe(200)
      } finally {
        await app.close()
      }
    }
    await health.close()
  })

  it('rejects a missing health instance with the invalid-option code', async () => {
    for (const options of [{}, { health: null }, { health: { respond: 1 } }]) {
      const app = Fastify()
      await expect(
        app.register(fastifyHealthPlugin, options as never).ready(),
      ).rejects.toMatchObject({ code: 'ERR_SCANNER_INVALID_OPTION', option: 'health' })
      await app.close()
    }
  })
})
