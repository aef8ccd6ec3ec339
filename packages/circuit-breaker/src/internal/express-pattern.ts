// The route pattern of an Express request, built from patterns only: the mount patterns of the
// routers (and sub-apps) the request went through, then the route's own path. Express keeps the
// raw matched prefix in `req.baseUrl` (`/t/rd5j88jhdk7` for `app.use('/t/:tenant', router)`):
// a key built from it would give every tenant its own breaker.
//
// Where each Express line keeps the mount patterns:
// - router 2.3+ (Express 5): `layer.match(path)` returns `{ path, pattern }`, the pattern as given
//   to `use()`;
// - Express 4 and router 2.0-2.2: `layer.match(path)` returns a boolean and leaves the matched
//   path in `layer.path`, its parameters in `layer.params` and their names in `layer.keys`; the
//   pattern itself is not kept, so it is rebuilt from those (parameter segments become `:name`).
// Sub-apps (`app.use('/x', subApp)`) keep theirs in `subApp.mountpath`.
// The layers are matched again against `req.baseUrl` (synchronously, as the router does): no cache
// keyed by a client's path, so nothing here grows with the traffic.

interface LayerLike {
  readonly route?: unknown
  readonly handle?: { readonly stack?: unknown }
  match?(path: string): unknown
  readonly path?: unknown
  readonly params?: Readonly<Record<string, unknown>>
  readonly keys?: readonly unknown[]
}

interface RouterLike {
  readonly stack: readonly LayerLike[]
}

interface AppLike {
  readonly _router?: unknown
  readonly router?: unknown
  readonly parent?: unknown
  readonly mountpath?: unknown
}

/** What the adapter reads from Express's request. */
export interface ExpressRequestLike {
  readonly route?: unknown
  readonly baseUrl: string
  readonly app?: unknown
}

const MAX_DEPTH = 32
const isRouter = (value: unknown): value is RouterLike =>
  (typeof value === 'function' || typeof value === 'object') &&
  value !== null &&
  Array.isArray((value as { stack?: unknown }).stack)

function routerOf(app: AppLike): RouterLike | undefined {
  // Express 4 keeps it in `_router` (its `app.router` getter throws); Express 5 in `router`.
  const router = app._router ?? app.router
  return isRouter(router) ? router : undefined
}

const trimSlash = (pattern: string): string =>
  pattern.length > 1 && pattern.endsWith('/') ? pattern.slice(0, -1) : pattern

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** A mount pattern rebuilt from a match without one (Express 4, router 2.0-2.2). */
function rebuild(layer: LayerLike, matched: string): string {
  const names = (layer.keys ?? []).map((k) =>
    String(typeof k === 'object' && k !== null ? (k as { name?: unknown }).name : k),
  )
  if (names.length === 0) return matched.toLowerCase()
  const params = layer.params ?? {}
  const left = new Set(names)
  const segments = matched.split('/').map((segment) => {
    const value = decode(segment)
    for (const name of left) {
      if (params[name] === value) {
        left.delete(name)
        return `:${name}`
      }
    }
    return segment.toLowerCase()
  })
  // A parameter that is not a whole segment (`/:from-:to`): the shape is not recoverable, so the
  // level is named after its parameters alone. Bounded either way: no client value remains.
  return left.size === 0 ? segments.join('/') : `/:${names.join('/:')}`
}

function matchLayer(
  layer: LayerLike,
  rest: string,
): { matched: string; pattern: string } | undefined {
  if (typeof layer.match !== 'function') return undefined
  let result: unknown
  try {
    result = layer.match(rest)
  } catch {
    return undefined
  }
  if (result === false || result === undefined || result === null) return undefined
  if (typeof result === 'object') {
    const { path, pattern } = result as { path?: unknown; pattern?: unknown }
    if (typeof path !== 'string') return undefined
    return {
      matched: path,
      pattern:
        typeof pattern === 'string' || pattern instanceof RegExp
          ? trimSlash(String(pattern))
          : rebuild(layer, path),
    }
  }
  const matched = layer.path
  if (typeof matched !== 'string') return undefined
  return { matched, pattern: rebuild(layer, matched) }
}

/** The mount patterns from `router` down to the router holding `route`, matching `rest`. */
function chain(
  router: RouterLike,
  rest: string,
  route: unknown,
  depth: number,
): string | undefined {
  if (depth > MAX_DEPTH) return undefined
  if ((rest === '' || rest === '/') && router.stack.some((layer) => layer.route === route)) {
    return ''
  }
  for (const layer of router.stack) {
    const sub = layer.handle
    if (layer.route !== undefined || !isRouter(sub)) continue
    const match = matchLayer(layer, rest)
    if (match === undefined) continue
    const inner = chain(sub, rest.slice(match.matched.length), route, depth + 1)
    if (inner !== undefined) return (match.pattern === '/' ? '' : match.pattern) + inner
  }
  return undefined
}

/** The mount patterns of the sub-app chain `app` belongs to (empty for the main app). */
function appPrefix(app: AppLike): string {
  let prefix = ''
  for (let a: AppLike | undefined = app, i = 0; a?.parent !== undefined && i < MAX_DEPTH; i++) {
    const mount = Array.isArray(a.mountpath) ? a.mountpath.join(',') : String(a.mountpath)
    prefix = (mount === '/' ? '' : trimSlash(mount)) + prefix
    a = a.parent as AppLike
  }
  return prefix
}

/** Stands for mounts whose patterns could not be found (an unknown router implementation). */
export const UNKNOWN_MOUNT = '<mount>'

/**
 * The route pattern of a request that matched an Express route, mount patterns included, or
 * undefined when no route matched.
 */
export function expressPattern(req: ExpressRequestLike): string | undefined {
  const route = req.route as { path?: unknown } | undefined
  const path = route?.path
  if (typeof path !== 'string' && !(path instanceof RegExp) && !Array.isArray(path)) {
    return undefined
  }
  const base = req.baseUrl
  if (base === '' || typeof base !== 'string') return String(path)
  const app = (req.app ?? {}) as AppLike
  const router = routerOf(app)
  if (router !== undefined) {
    const sub = appPrefix(app)
    // In a sub-app, baseUrl starts with the parents' part: try each segment boundary.
    let i = 0
    for (;;) {
      const mounts = chain(router, base.slice(i), route, 0)
      if (mounts !== undefined) return sub + mounts + String(path)
      if (sub === '' || i === base.length) break
      const next = base.indexOf('/', i + 1)
      i = next === -1 ? base.length : next
    }
  }
  return UNKNOWN_MOUNT + String(path)
}
