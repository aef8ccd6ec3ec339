import { isErrorId, type Logger } from '@scanner/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createBreakerRegistry, type BreakerRegistry } from '../registry.js'
import { createHttpGuard } from './http.js'

let registry: BreakerRegistry | undefined

afterEach(async () => {
  await registry?.close()
  registry = undefined
})

describe('createHttpGuard().error', () => {
  it('gives unique error IDs over 100,000 errors, the same in body, header and log line', () => {
    const logged: unknown[] = []
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (obj: object | string) => {
        if (typeof obj === 'object') logged.push((obj as { errorId?: unknown }).errorId)
      },
      child: () => logger,
    }
    registry = createBreakerRegistry()
    const guard = createHttpGuard(registry, { logger })
    const info = { method: 'GET', pattern: '/api/failing', url: '/api/failing' }
    const seen = new Set<string>()
    const total = 100_000
    for (let i = 0; i < total; i++) {
      const response = guard.error(new Error('boom'), guard.state({}, undefined), info)
      const id = response.headers['x-error-id']
      if (id === undefined || !isErrorId(id) || seen.has(id))
        throw new Error(`bad ID ${String(id)}`)
      // The body is checked on a sample: parsing 100,000 bodies proves nothing more.
      if (i % 1_000 === 0)
        expect((JSON.parse(response.body) as { errorId: string }).errorId).toBe(id)
      if (logged[i] !== id) throw new Error(`log line ${String(i)} has ${String(logged[i])}`)
      seen.add(id)
    }
    expect(seen.size).toBe(total)
    expect(logged).toHaveLength(total)
  }, 60_000)
})
