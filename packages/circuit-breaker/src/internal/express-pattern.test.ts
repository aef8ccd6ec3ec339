import { describe, expect, it } from 'vitest'
import { expressPattern, UNKNOWN_MOUNT } from './express-pattern.js'

// Layers shaped as Express 4's (and router 2.0-2.2's): match() returns a boolean and leaves the
// matched path, the decoded parameters and their names on the layer. No pattern is kept.
function legacyLayer(regexp: RegExp, names: string[], handle: unknown) {
  const layer = {
    handle,
    keys: names.map((name) => ({ name })),
    path: undefined as string | undefined,
    params: undefined as Record<string, string> | undefined,
    match(path: string): boolean {
      const m = regexp.exec(path)
      if (m === null) return false
      layer.path = m[0]
      layer.params = Object.fromEntries(
        names.map((n, i) => [n, decodeURIComponent(m[i + 1] ?? '')]),
      )
      return true
    },
  }
  return layer
}

describe('expressPattern', () => {
  const route = { path: '/orders/:id' }
  const shop = { stack: [{ route }] }
  const tenant = { stack: [legacyLayer(/^\/shops\/([^/]+?)(?=\/|$)/i, ['shop'], shop)] }
  const app = { _router: { stack: [legacyLayer(/^\/t\/([^/]+?)(?=\/|$)/i, ['tenant'], tenant)] } }

  it('rebuilds mount patterns where the router keeps none (Express 4, router 2.0-2.2)', () => {
    for (const baseUrl of ['/t/acme/shops/s1', '/T/t/SHOPS/shops', '/t/a%20b/shops/%41']) {
      expect(expressPattern({ route, baseUrl, app })).toBe('/t/:tenant/shops/:shop/orders/:id')
    }
  })

  it('names a level by its parameters when one is not a whole segment', () => {
    const range = { stack: [{ route }] }
    const a = {
      _router: { stack: [legacyLayer(/^\/r\/([^/-]+)-([^/]+?)(?=\/|$)/i, ['from', 'to'], range)] },
    }
    expect(expressPattern({ route, baseUrl: '/r/1-9', app: a })).toBe('/:from/:to/orders/:id')
  })

  it('uses the pattern the router returns (router 2.3+)', () => {
    const modern = {
      router: {
        stack: [
          {
            handle: shop,
            match: (path: string) =>
              path.startsWith('/x/')
                ? { path: path.split('/').slice(0, 3).join('/'), pattern: '/x/:y' }
                : false,
          },
        ],
      },
    }
    expect(expressPattern({ route, baseUrl: '/x/123', app: modern })).toBe('/x/:y/orders/:id')
  })

  it('never returns the raw baseUrl: unknown routers give a placeholder', () => {
    expect(expressPattern({ route, baseUrl: '/t/acme', app: {} })).toBe(
      `${UNKNOWN_MOUNT}/orders/:id`,
    )
    expect(expressPattern({ route, baseUrl: '', app })).toBe('/orders/:id')
    expect(expressPattern({ route: undefined, baseUrl: '/t/x', app })).toBeUndefined()
  })
})
