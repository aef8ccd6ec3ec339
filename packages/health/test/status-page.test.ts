import { createServer, get, type IncomingMessage, type Server } from 'node:http'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createStatusHistory,
  createStatusPage,
  statusSnapshot,
  type StatusHistory,
  type StatusPage,
  type StatusPageOptions,
  type StatusSnapshot,
} from '@scanner/health'

const EVIL = `"><script>alert(1)</script><img src=x onerror=alert(2)>'&`

/** Serves a page's routes by exact path on 127.0.0.1:0, as the operator port does. */
async function serve(page: StatusPage): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const handler = page.routes[(req.url ?? '').split('?')[0] ?? '']
    if (handler === undefined) {
      res.writeHead(404).end()
      return
    }
    void handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { url: `http://127.0.0.1:${String(address.port)}`, server }
}

/** An event-stream reader: waits for the next message of a given event name. */
function openStream(url: string): Promise<{
  res: IncomingMessage
  next(event: string): Promise<{ id: string | undefined; data: string }>
  close(): void
}> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let buffer = ''
      const messages: { event: string; id: string | undefined; data: string }[] = []
      const waiters: (() => void)[] = []
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        let end
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          let event = 'message'
          let id: string | undefined
          const data: string[] = []
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('id: ')) id = line.slice(4)
            else if (line.startsWith('data: ')) data.push(line.slice(6))
          }
          if (data.length > 0) messages.push({ event, id, data: data.join('\n') })
          for (const wake of waiters.splice(0)) wake()
        }
      })
      resolve({
        res,
        next: async (event) => {
          for (;;) {
            const index = messages.findIndex((m) => m.event === event)
            if (index !== -1) return messages.splice(index, 1)[0] as { id: string; data: string }
            await new Promise<void>((wake) => waiters.push(wake))
          }
        },
        close: () => {
          req.destroy()
        },
      })
    })
    req.on('error', reject)
  })
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setup(
  options: Partial<StatusPageOptions> & { history?: StatusHistory } = {},
): Promise<{ history: StatusHistory; page: StatusPage; url: string }> {
  const history = options.history ?? createStatusHistory()
  const page = createStatusPage({ sampleIntervalMs: 0, ...options, history })
  const { url, server } = await serve(page)
  cleanups.push(
    () => page.close(),
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => {
          resolve()
        })
      }),
  )
  return { history, page, url }
}

const waitFor = async (condition: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 15_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Every tag is one the renderer writes, and no tag carries an event handler attribute. */
function expectOnlyOwnMarkup(html: string): void {
  const own = new Set(
    'html head meta link title style body header h1 h2 p main section div nav a svg text line rect path circle dl dt dd time table caption thead tbody tr th td span strong code meter footer script'.split(
      ' ',
    ),
  )
  const body = html.replace(/<script nonce="[^"]+">[\s\S]*?<\/script>/, '')
  for (const tag of body.match(/<[^>]*>/g) ?? []) {
    const name = /^<\/?([a-z0-9]+)/i.exec(tag)?.[1]?.toLowerCase() ?? tag
    if (tag !== '<!doctype html>') expect(own, tag).toContain(name)
    expect(tag).not.toMatch(/\son[a-z]+=/i)
  }
}

function evilSnapshot(): StatusSnapshot {
  return {
    at: Date.now(),
    tunnel: {
      state: EVIL,
      url: EVIL,
      protocol: EVIL,
      dns: EVIL,
      failure: { reason: EVIL, message: EVIL },
      pid: 42,
    },
    health: { status: EVIL, components: { [EVIL]: { status: EVIL, error: EVIL, latency_ms: 3 } } },
    breakers: [{ key: EVIL, state: EVIL, errorRate: 50 }],
  }
}

function fillEvil(history: StatusHistory): void {
  const now = Date.now()
  const n = history.capacity
  for (let i = 0; i < n; i++) {
    const at = now - Math.floor((i / n) * 86_400_000)
    switch (i % 6) {
      case 0:
        history.add({ kind: 'state', state: EVIL.repeat(20), previous: EVIL.repeat(20), at })
        break
      case 1:
        history.add({ kind: 'restart', reason: EVIL.repeat(20), strategy: EVIL.repeat(20), at })
        break
      case 2:
        history.add({ kind: 'quic', connIndex: i, at })
        break
      case 3:
        history.add({ kind: 'dns', status: 'failure', detail: EVIL.repeat(50), at })
        break
      case 4:
        history.add({ kind: 'breaker', key: EVIL.repeat(50), state: 'open', previous: EVIL, at })
        break
      default:
        history.add({ kind: 'error', errorId: EVIL, message: `"<${EVIL.repeat(50)}`, at })
    }
  }
}

describe('status page rendering', () => {
  it('serves a complete, self-contained page with the state, timeline, components, breakers, errors', async () => {
    const history = createStatusHistory()
    history.add({ kind: 'state', state: 'running', previous: 'starting', at: Date.now() - 90_000 })
    history.add({
      kind: 'restart',
      reason: 'quic-timeouts',
      strategy: 'make-before-break',
      handoverMs: 1800,
    })
    history.add({ kind: 'error', errorId: 'err_01JDQ8X6R5T0Y3V9K2M4N6P8Q0', message: 'boom' })
    const { url } = await setup({
      history,
      title: 'scanner-api',
      snapshot: statusSnapshot({
        tunnel: { status: () => ({ state: 'running', readyConnections: 4, pid: 7 }) },
        health: {
          run: () =>
            Promise.resolve({
              status: 'healthy',
              components: { database: { status: 'healthy', latency_ms: 2.5 } },
            }),
        },
        breakers: { stats: () => [{ key: 'GET /api/scan', state: 'closed', errorRate: 0 }] },
      }),
    })
    const res = await fetch(`${url}/status`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const html = await res.text()
    expect(html).toContain('<title>Tunnel up · scanner-api</title>')
    expect(html).toMatch(/running for <time [^>]*data-since="\d+">1 min 3\d s<\/time>/)
    expect(html).toContain('quic-timeouts')
    expect(html).toContain('make-before-break')
    expect(html).toContain('handover 1.8 s')
    expect(html).toContain('<svg class="timeline"')
    expect(html).toContain('2.5 ms')
    expect(html).toContain('GET /api/scan')
    expect(html).toContain('err_01JDQ8X6R5T0Y3V9K2M4N6P8Q0')
    // Offline: no external resource, no URL but our own paths.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//)
    expect(html).not.toMatch(/@import|url\(/)
    // The script runs under a per-response nonce named in the CSP.
    const nonce = /<script nonce="([^"]+)">/.exec(html)?.[1]
    expect(nonce).toBeDefined()
    expect(res.headers.get('content-security-policy')).toContain(
      `script-src 'nonce-${nonce ?? ''}'`,
    )
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    // The trailing-slash path and the window choice work without JavaScript.
    const day = await (await fetch(`${url}/status/?window=24h`)).text()
    expect(day).toContain('<h2 id="h-timeline">Last 24 h</h2>')
    expect(day).toContain('href="?window=24h" data-window="24h" aria-current="page"')
    const unknownWindow = await (await fetch(`${url}/status?window=<x>`)).text()
    expect(unknownWindow).toContain('Last 1 h')
  })

  it('escapes every string that reaches HTML: no markup from a reason, message, key or name', async () => {
    const history = createStatusHistory({ capacity: 60 })
    fillEvil(history)
    const { url } = await setup({ history, title: EVIL, snapshot: evilSnapshot })
    const html = await (await fetch(`${url}/status?window=24h`)).text()
    expect(html.match(/<script/g)).toHaveLength(1) // ours only
    expectOnlyOwnMarkup(html)
    expect(html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;',
    )
    // The same holds for the sections pushed over the event stream.
    const stream = await openStream(`${url}/status/events?window=24h`)
    cleanups.push(() => {
      stream.close()
    })
    const update = JSON.parse((await stream.next('update')).data) as {
      sections: Record<string, string>
      title: string
    }
    const pushed = Object.values(update.sections).join('')
    expect(pushed).not.toContain('<script')
    expectOnlyOwnMarkup(pushed)
    expect(pushed).toContain('&lt;img src=x onerror=alert(2)&gt;')
  })

  it('stays under 50 KB with a full history of maximal events, 1000 breakers and 64 components', async () => {
    const history = createStatusHistory({ capacity: 1000 })
    fillEvil(history)
    const components: Record<string, { status: string; error: string }> = {}
    for (let i = 0; i < 64; i++)
      components[`${EVIL}${String(i)}`] = { status: 'unhealthy', error: EVIL.repeat(20) }
    const { url } = await setup({
      history,
      snapshot: () => ({
        ...evilSnapshot(),
        health: { status: 'unhealthy', components },
        breakers: Array.from({ length: 1000 }, (_, i) => ({
          key: `${EVIL.repeat(5)}${String(i)}`,
          state: 'open',
          errorRate: i % 100,
          nextAttemptAt: Date.now(),
        })),
      }),
    })
    for (const window of ['15m', '1h', '6h', '24h']) {
      const html = await (await fetch(`${url}/status?window=${window}`)).text()
      expect(Buffer.byteLength(html), window).toBeLessThan(50 * 1024)
      expect(html).toContain('and 988 more')
    }
    const json = await (await fetch(`${url}/status/history.json`)).text()
    // The documented bound: about 1 KiB per event.
    expect(Buffer.byteLength(json)).toBeLessThan(1000 * 1024)
  })

  it('answers 405 to other methods, HEAD without a body, and never fails on a throwing source', async () => {
    const { url } = await setup({
      snapshot: () => {
        throw new Error('source down')
      },
    })
    const post = await fetch(`${url}/status`, { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    const head = await fetch(`${url}/status/history.json`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    const page = await fetch(`${url}/status`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('No tunnel')
    const json = (await (await fetch(`${url}/status/history.json`)).json()) as object
    expect(json).toEqual({ capacity: 1000, size: 0, lastSeq: 0, dropped: 0, events: [] })
  })

  it('validates its options, naming the bad one', () => {
    const history = createStatusHistory()
    expect(() => createStatusPage({ history, basePath: 'status/' })).toThrow(/basePath/)
    expect(() => createStatusPage({ history, maxClients: 0 })).toThrow(/maxClients/)
    expect(() => createStatusPage({ history, heartbeatMs: -1 })).toThrow(/heartbeatMs/)
    expect(() => createStatusPage({ history: {} as StatusHistory })).toThrow(/history/)
    const page = createStatusPage({ history, basePath: '/ops/status' })
    expect(Object.keys(page.routes)).toEqual([
      '/ops/status',
      '/ops/status/',
      '/ops/status/events',
      '/ops/status/history.json',
    ])
    return page.close()
  })
})

describe('status page event stream', () => {
  it('sends a full update on connect and another for each new event, with the sequence as id', async () => {
    let state = 'running'
    const { history, url, page } = await setup({
      snapshot: () => ({ at: Date.now(), tunnel: { state } }),
    })
    const stream = await openStream(`${url}/status/events`)
    cleanups.push(() => {
      stream.close()
    })
    expect(stream.res.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    const first = JSON.parse((await stream.next('update')).data) as {
      sections: Record<string, string>
      title: string
    }
    expect(Object.keys(first.sections)).toEqual([
      's-state',
      's-timeline',
      's-components',
      's-breakers',
      's-errors',
      's-footer',
    ])
    expect(first.title).toMatch(/^Tunnel up/)
    await waitFor(() => page.clients === 1, 'one client')
    state = 'backoff'
    history.add({ kind: 'state', state: 'backoff', previous: 'running' })
    history.add({ kind: 'restart', reason: 'exit', strategy: 'break-before-make', exitCode: 1 })
    const next = await stream.next('update')
    expect(next.id).toBe('2')
    const data = JSON.parse(next.data) as { sections: Record<string, string>; title: string }
    expect(data.title).toMatch(/^Tunnel down, restarting/)
    expect(data.sections['s-timeline']).toContain('exit (exit 1)')
    expect(data.sections['s-timeline']).toContain('break-before-make')
  })

  it('bounds the clients (503 beyond), sends heartbeats and forgets a client that disconnects', async () => {
    const { url, page } = await setup({ maxClients: 2, heartbeatMs: 100 })
    const a = await openStream(`${url}/status/events`)
    const b = await openStream(`${url}/status/events`)
    cleanups.push(() => {
      a.close()
      b.close()
    })
    await waitFor(() => page.clients === 2, 'two clients')
    const refused = await fetch(`${url}/status/events`)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('10')
    await a.next('ping')
    a.close()
    await waitFor(() => page.clients === 1, 'the closed client forgotten')
    const c = await openStream(`${url}/status/events`)
    cleanups.push(() => {
      c.close()
    })
    await c.next('update')
    expect(page.clients).toBe(2)
    await page.close()
    expect(page.clients).toBe(0)
  })

  it('disconnects a client that does not read instead of buffering for it', async () => {
    const { url, page } = await setup({ maxBufferedBytes: 64 * 1024 })
    const { port } = new URL(url)
    const socket = connect(Number(port), '127.0.0.1')
    cleanups.push(() => {
      socket.destroy()
    })
    await new Promise<void>((resolve) => socket.once('connect', resolve))
    socket.write(`GET /status/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    socket.pause() // never reads: the kernel buffers fill, then Node's
    await waitFor(() => page.clients === 1, 'the slow client connected')
    let pushes = 0
    while (page.clients === 1 && pushes < 5000) {
      await page.refresh()
      pushes++
    }
    expect(page.clients).toBe(0)
    expect(pushes).toBeLessThan(5000)
  })
})
