// Route keys are patterns, always: the same two routes, mounted under parameterised prefixes two
// levels deep, on every framework. Random values at every level must give one key per route.
import { createBreakerRegistry, type BreakerRegistry } from '@scanner/circuit-breaker'
import { afterEach, describe, expect, it } from 'vitest'
import type { Client } from './contract.js'

/**
 * Builds an app with the adapter under test and two routes, mounted as the framework mounts
 * nested routers (Express `app.use(path, router)`, Fastify `register(…, { prefix })`, Hono
 * `route()`):
 * - `GET /t/:tenant/shops/:shop/orders/:id` answers 200 (`/t/:tenant` → `/shops/:shop` →
 *   `/orders/:id`);
 * - `GET /t/:tenant/down` answers 502 (`/t/:tenant` → `/down`).
 */
export type MakeMountedClient = (registry: BreakerRegistry) => Promise<Client>

export const ORDER_KEY = 'GET /t/:tenant/shops/:shop/orders/:id'
export const DOWN_KEY = 'GET /t/:tenant/down'

const random = (): string => Math.random().toString(36).slice(2, 12)
// Values a naive rebuild could confuse with the literal segments, or that only match once
// percent-decoded.
const tricky = ['t', 'shops', 'orders', 'down', 'a%20b', '%41', 'T', 'x.y', '~1']

export function describeRouteKeys(name: string, makeClient: MakeMountedClient): void {
  describe(`${name} route keys`, () => {
    let registry: BreakerRegistry
    let client: Client | undefined

    afterEach(async () => {
      await client?.close()
      client = undefined
      await registry.close()
    })

    it('gives one key per route for random values at every level', async () => {
      // A threshold no error rate exceeds: the 502 route stays closed.
      registry = createBreakerRegistry({ errorThresholdPercentage: 100 })
      client = await makeClient(registry)
      const values = [...tricky, ...Array.from({ length: 40 }, random)]
      for (const [i, tenant] of values.entries()) {
        const shop = values[(i + 3) % values.length] ?? 'x'
        const id = values[(i + 7) % values.length] ?? 'y'
        const res = await client.request(`/t/${tenant}/shops/${shop}/orders/${id}`)
        expect(res.status, `/t/${tenant}/shops/${shop}/orders/${id}`).toBe(200)
        expect((await client.request(`/t/${tenant}/down`)).status).toBe(502)
      }
      expect(registry.keys().sort()).toEqual([DOWN_KEY, ORDER_KEY])
    })

    it('2,000 random tenants give one key and cannot evict an open breaker', async () => {
      registry = createBreakerRegistry({ maxBreakers: 50, volumeThreshold: 4 })
      const c = await makeClient(registry)
      client = c
      for (let i = 0; i < 4; i++) expect((await client.request('/t/a/down')).status).toBe(502)
      expect(registry.get(DOWN_KEY).state).toBe('open')
      const batch = 50
      for (let i = 0; i < 2_000; i += batch) {
        const responses = await Promise.all(
          Array.from({ length: batch }, () =>
            c.request(`/t/${random()}/shops/${random()}/orders/${random()}`),
          ),
        )
        for (const res of responses) expect(res.status).toBe(200)
      }
      expect(registry.keys().sort()).toEqual([DOWN_KEY, ORDER_KEY])
      expect(registry.get(ORDER_KEY).stats().successes).toBe(2_000)
      const rejected = await client.request(`/t/${random()}/down`)
      expect(rejected.status).toBe(503)
      expect(registry.get(DOWN_KEY).state).toBe('open')
    }, 180_000)
  })
}
