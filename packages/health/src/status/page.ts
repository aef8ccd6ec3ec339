import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { checkNumber } from '@scanner/core'
import { clock } from './format.js'
import type { StatusHistory } from './history.js'
import { pageTitle, renderPage, renderSections, type RenderInput } from './render.js'
import type { StatusSnapshot } from './snapshot.js'
import { SseHub, sseMessage, type SseClient } from './sse.js'
import { STATUS_WINDOWS, type StatusWindow } from './timeline.js'

/** A `node:http` handler, as the operator port's `routes` option and the CLI's listener take. */
export type StatusRouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

/** Options of {@link createStatusPage}. */
export interface StatusPageOptions {
  /** The event history behind the timeline and the errors (`createStatusHistory()`). */
  readonly history: StatusHistory
  /**
   * Reads the current tunnel status, health components and breakers (`statusSnapshot({...})`
   * builds one). Called at most once per second for pages, and every `sampleIntervalMs`.
   * @default undefined (the page shows the history only)
   */
  readonly snapshot?: () => StatusSnapshot | Promise<StatusSnapshot>
  /**
   * Page heading (the tab title starts with the tunnel state).
   * @default 'Tunnel status'
   */
  readonly title?: string
  /**
   * Path of the page; the stream is `<basePath>/events`, the JSON `<basePath>/history.json`.
   * @default '/status'
   */
  readonly basePath?: string
  /**
   * Event-stream clients served at once; more get 503 with `Retry-After`.
   * @default 16
   */
  readonly maxClients?: number
  /**
   * Time between heartbeats on the event stream, in milliseconds.
   * @default 15000
   */
  readonly heartbeatMs?: number
  /**
   * Time between background snapshots (component latency history, live updates), in
   * milliseconds; 0 takes snapshots only when a page is served or an event arrives.
   * @default 5000
   */
  readonly sampleIntervalMs?: number
  /**
   * Latency samples kept per health component for its sparkline.
   * @default 30
   */
  readonly latencySamples?: number
  /**
   * Bytes an event-stream client may leave unread in its socket buffer before it is
   * disconnected (it reconnects and gets a full update).
   * @default 262144
   */
  readonly maxBufferedBytes?: number
  /**
   * Closes the page (timers, streams) when aborted.
   * @default undefined
   */
  readonly signal?: AbortSignal
}

/** A status page; see {@link createStatusPage}. */
export interface StatusPage {
  /**
   * Handlers by exact path: `<basePath>` (and with a trailing slash), `<basePath>/events`,
   * `<basePath>/history.json`. Mount them on the operator port or the CLI's status listener.
   */
  readonly routes: Readonly<Record<string, StatusRouteHandler>>
  /** Event-stream clients connected now. */
  readonly clients: number
  /** Takes a snapshot now and pushes an update to every client. */
  refresh(): Promise<void>
  /** Ends every event stream and stops the timers. Idempotent. */
  close(): Promise<void>
}

/** Defaults of {@link StatusPageOptions}. */
export const statusPageDefaults = Object.freeze({
  title: 'Tunnel status',
  basePath: '/status',
  maxClients: 16,
  heartbeatMs: 15_000,
  sampleIntervalMs: 5000,
  latencySamples: 30,
  maxBufferedBytes: 262_144,
})

/** Components whose latency history is kept (names come from configuration, but bound it). */
const MAX_COMPONENTS = 64
/** A page request reuses a snapshot younger than this, so requests cannot hammer the checks. */
const SNAPSHOT_REUSE_MS = 1000
/** Events arriving close together are pushed as one update. */
const PUSH_DELAY_MS = 200

function resolveBasePath(value: unknown): string {
  if (value === undefined) return statusPageDefaults.basePath
  if (typeof value !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(value)) {
    throw new TypeError(
      `basePath must be a path such as "/status" (letters, digits, ".", "_", "~", "-"; no trailing slash), got ${JSON.stringify(value)}`,
    )
  }
  return value
}

function windowOf(req: IncomingMessage): StatusWindow {
  const query = (req.url ?? '').split('?')[1]
  const value = new URLSearchParams(query ?? '').get('window')
  return value !== null && Object.hasOwn(STATUS_WINDOWS, value) ? (value as StatusWindow) : '1h'
}

function onlyGet(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true
  res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
  res.end('method not allowed\n')
  return false
}

function fail(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  res.end('status page unavailable\n')
}

/**
 * Creates the status page an operator looks at: the tunnel state (large, with time in state),
 * a restart timeline for 15 min / 1 h / 6 h / 24 h with each restart's reason and strategy, QUIC
 * incidents, DNS episodes, breaker openings and errors on the same axis, health components with
 * latency sparklines, breakers with failure rates, and the latest errors by error ID. The page
 * is server-rendered (complete without JavaScript), self-contained (inline CSS, inline SVG, no
 * external asset), under 50 KB, follows `prefers-color-scheme`, and updates live over
 * Server-Sent Events. Serve it on a loopback operator listener only.
 *
 * @example
 * ```ts
 * const history = createStatusHistory()
 * recordTunnel(history, tunnel)
 * recordBreakers(history, breakers)
 * const page = createStatusPage({ history, snapshot: statusSnapshot({ tunnel, health, breakers }) })
 * // operator port: createHealth({ ..., operator: { routes: page.routes } }) or plain node:http:
 * http.createServer((req, res) => page.routes[req.url?.split('?')[0] ?? '']?.(req, res))
 * ```
 */
export function createStatusPage(options: StatusPageOptions): StatusPage {
  const history = options.history
  if (typeof (history as unknown) !== 'object' || typeof history.events !== 'function') {
    throw new TypeError('history must be a StatusHistory (createStatusHistory())')
  }
  if (options.snapshot !== undefined && typeof options.snapshot !== 'function') {
    throw new TypeError('snapshot must be a function returning a StatusSnapshot')
  }
  const title = options.title ?? statusPageDefaults.title
  if (typeof title !== 'string') throw new TypeError('title must be a string')
  const basePath = resolveBasePath(options.basePath)
  const hub = new SseHub<{ window: StatusWindow }>({
    maxClients: checkNumber('maxClients', options.maxClients, statusPageDefaults.maxClients, {
      min: 1,
      max: 1000,
      integer: true,
    }),
    heartbeatMs: checkNumber('heartbeatMs', options.heartbeatMs, statusPageDefaults.heartbeatMs, {
      min: 100,
      max: 3_600_000,
    }),
    maxBufferedBytes: checkNumber(
      'maxBufferedBytes',
      options.maxBufferedBytes,
      statusPageDefaults.maxBufferedBytes,
      { min: 1024, max: 64 * 1024 * 1024, integer: true },
    ),
    retryMs: 3000,
  })
  const sampleIntervalMs = checkNumber(
    'sampleIntervalMs',
    options.sampleIntervalMs,
    statusPageDefaults.sampleIntervalMs,
    { min: 0, max: 3_600_000 },
  )
  const samples = checkNumber(
    'latencySamples',
    options.latencySamples,
    statusPageDefaults.latencySamples,
    { min: 2, max: 1000, integer: true },
  )

  let latest: StatusSnapshot | undefined
  let pending: Promise<StatusSnapshot | undefined> | undefined
  let closed = false
  const latencies = new Map<string, (number | undefined)[]>()

  const recordLatencies = (snapshot: StatusSnapshot): void => {
    const components = snapshot.health?.components
    if (components === undefined) return
    for (const [name, component] of Object.entries(components)) {
      let list = latencies.get(name)
      if (list === undefined) {
        if (latencies.size >= MAX_COMPONENTS) continue
        list = []
        latencies.set(name, list)
      }
      const value = component.latency_ms
      list.push(typeof value === 'number' && Number.isFinite(value) ? value : undefined)
      if (list.length > samples) list.splice(0, list.length - samples)
    }
  }

  const takeSnapshot = (force: boolean): Promise<StatusSnapshot | undefined> => {
    const source = options.snapshot
    if (source === undefined) return Promise.resolve(undefined)
    if (pending !== undefined) return pending
    if (!force && latest !== undefined && Date.now() - latest.at < SNAPSHOT_REUSE_MS) {
      return Promise.resolve(latest)
    }
    pending = (async () => {
      try {
        const snapshot = await source()
        latest = { ...snapshot, at: Number.isFinite(snapshot.at) ? snapshot.at : Date.now() }
        recordLatencies(latest)
      } catch {
        // Keep showing the previous snapshot; the page stays up whatever a source does.
      } finally {
        pending = undefined
      }
      return latest
    })()
    return pending
  }

  const input = (window: StatusWindow): RenderInput => ({
    title,
    basePath,
    history,
    snapshot: latest,
    latencies,
    window,
    now: Date.now(),
  })

  const update = (window: StatusWindow): string => {
    const data = input(window)
    return sseMessage(
      'update',
      JSON.stringify({
        now: data.now,
        clock: clock(data.now),
        title: pageTitle(data),
        sections: renderSections(data),
      }),
      history.lastSeq,
    )
  }

  const push = (clients: readonly SseClient<{ window: StatusWindow }>[]): void => {
    const byWindow = new Map<StatusWindow, string>()
    for (const client of clients) {
      let message = byWindow.get(client.data.window)
      if (message === undefined) {
        message = update(client.data.window)
        byWindow.set(client.data.window, message)
      }
      hub.send(client, message)
    }
  }

  const refresh = async (): Promise<void> => {
    await takeSnapshot(true)
    if (!closed) push(hub.clients())
  }

  let pushTimer: NodeJS.Timeout | undefined
  const schedulePush = (): void => {
    if (pushTimer !== undefined || closed) return
    pushTimer = setTimeout(() => {
      pushTimer = undefined
      void refresh()
    }, PUSH_DELAY_MS)
    pushTimer.unref()
  }
  const unsubscribe = history.subscribe(schedulePush)

  let sampler: NodeJS.Timeout | undefined
  if (sampleIntervalMs > 0 && options.snapshot !== undefined) {
    sampler = setInterval(() => {
      void refresh()
    }, sampleIntervalMs)
    sampler.unref()
  }

  const page: StatusRouteHandler = async (req, res) => {
    try {
      if (!onlyGet(req, res)) return
      await takeSnapshot(false)
      const nonce = randomBytes(16).toString('base64')
      const body = renderPage(input(windowOf(req)), nonce)
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'content-security-policy':
          `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; ` +
          `connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch {
      fail(res)
    }
  }

  const events: StatusRouteHandler = async (req, res) => {
    try {
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain; charset=utf-8' })
        res.end('method not allowed\n')
        return
      }
      const client = hub.accept(req, res, { window: windowOf(req) })
      if (client === undefined) return
      await takeSnapshot(false)
      push([client])
    } catch {
      fail(res)
    }
  }

  const json: StatusRouteHandler = (req, res) => {
    try {
      if (!onlyGet(req, res)) return
      const body = JSON.stringify(history.toJSON())
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch {
      fail(res)
    }
  }

  const close = (): Promise<void> => {
    if (closed) return Promise.resolve()
    closed = true
    unsubscribe()
    if (pushTimer !== undefined) clearTimeout(pushTimer)
    if (sampler !== undefined) clearInterval(sampler)
    hub.close()
    return Promise.resolve()
  }
  options.signal?.addEventListener(
    'abort',
    () => {
      void close()
    },
    { once: true },
  )
  if (options.signal?.aborted === true) void close()

  return {
    routes: Object.freeze({
      [basePath]: page,
      [`${basePath}/`]: page,
      [`${basePath}/events`]: events,
      [`${basePath}/history.json`]: json,
    }),
    get clients() {
      return hub.size
    },
    refresh,
    close,
  }
}
