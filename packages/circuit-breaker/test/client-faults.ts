// A client's faults are never a breaker's failures, on every framework, over real sockets on
// loopback: slow bodies (headers, then nothing past timeoutMs), bodies cut short, malformed JSON,
// bodies past bodyTimeoutMs (408).
import { connect, type Socket } from 'node:net'
import {
  createBreakerRegistry,
  type BreakerRegistry,
  type HttpBreakerOptions,
} from '@scanner/circuit-breaker'
import { afterEach, describe, expect, it, vi } from 'vitest'

/**
 * A server answering `POST /api/echo` with the JSON body it parsed (the framework's way), with a
 * body limit of 100 KiB (413 beyond).
 */
export interface EchoServer {
  readonly port: number
  close(): Promise<void>
}

export type MakeEchoServer = (
  registry: BreakerRegistry,
  options: HttpBreakerOptions,
) => Promise<EchoServer>

const KEY = 'POST /api/echo'
const TIMEOUT_MS = 200
const BODY_TIMEOUT_MS = 300

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms)
  })

/** Opens a connection that sends a POST's headers (and `partial` of its body), then nothing. */
function slowClient(port: number, partial = '', extraHeaders = ''): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /api/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          `${extraHeaders}Content-Length: 100\r\n\r\n${partial}`,
      )
      resolve(socket)
    })
    socket.on('error', reject)
  })
}

interface RawResponse {
  readonly status: number
  readonly headers: string
  readonly body: string
}

/** Reads what the server sends on `socket` until it closes the connection. */
function readUntilClose(socket: Socket): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      received += chunk
    })
    socket.on('close', () => {
      const end = received.indexOf('\r\n\r\n')
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received)
      if (end === -1 || match === null) {
        reject(new Error(`no response: ${JSON.stringify(received.slice(0, 200))}`))
        return
      }
      resolve({
        status: Number(match[1]),
        headers: received.slice(0, end).toLowerCase(),
        body: received.slice(end + 4),
      })
    })
  })
}

/**
 * POSTs `body` on a raw socket and reads the response until the server closes or the response is
 * complete. A server may answer 413 and close before the body was all sent: the client's write
 * error then does not matter (fetch would fail the request on it).
 */
function rawPost(port: number, body: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let received = ''
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /api/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${String(Buffer.byteLength(body))}\r\nConnection: close\r\n\r\n`,
      )
      socket.write(body)
    })
    const done = (): void => {
      const end = received.indexOf('\r\n\r\n')
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received)
      if (end === -1 || match === null) {
        reject(new Error(`no response: ${JSON.stringify(received.slice(0, 200))}`))
        return
      }
      resolve({
        status: Number(match[1]),
        headers: received.slice(0, end).toLowerCase(),
        body: received.slice(end + 4),
      })
    }
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      received += chunk
    })
    socket.on('error', () => undefined)
    socket.on('close', done)
  })
}

export function describeClientFaults(name: string, makeServer: MakeEchoServer): void {
  describe(`${name}: client faults are not breaker failures`, () => {
    let registry: BreakerRegistry
    let server: EchoServer | undefined
    const sockets: Socket[] = []

    afterEach(async () => {
      for (const socket of sockets.splice(0)) socket.destroy()
      await server?.close()
      server = undefined
      await registry.close()
    })

    async function start(options: HttpBreakerOptions = {}): Promise<EchoServer> {
      // Five failures in ten would open it: each fault below is sent ten times.
      registry = createBreakerRegistry({ timeoutMs: TIMEOUT_MS, volumeThreshold: 5 })
      server = await makeServer(registry, options)
      return server
    }

    const post = (port: number, body: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${String(port)}/api/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })

    it('10 slow bodies held past timeoutMs leave the breaker closed; the next request gets 200', async () => {
      const { port } = await start()
      for (let i = 0; i < 10; i++) sockets.push(await slowClient(port, i % 2 === 0 ? '' : '{"a":'))
      await vi.waitFor(
        () => {
          expect(registry.peek(KEY)?.stats().requests).toBe(10)
        },
        { timeout: 15_000, interval: 20 },
      )
      // Past timeoutMs for every one of them: a clock started at admission would have fired.
      await sleep(TIMEOUT_MS * 3)
      expect(registry.get(KEY).stats()).toMatchObject({ state: 'closed', timeouts: 0, failures: 0 })
      const good = await post(port, '{"symbol":"ACME"}')
      expect(good.status).toBe(200)
      expect(await good.json()).toEqual({ symbol: 'ACME' })
      // The clients go away mid-body: ignored (400 or a response that never ended), not failures.
      for (const socket of sockets.splice(0)) socket.destroy()
      await vi.waitFor(
        () => {
          expect(registry.get(KEY).stats().ignored).toBe(10)
        },
        { timeout: 15_000, interval: 20 },
      )
      expect(registry.get(KEY).stats()).toMatchObject({
        state: 'closed',
        timeouts: 0,
        failures: 0,
        successes: 1,
      })
    })

    it('malformed JSON gets 400 problem+json ten times and the breaker stays closed', async () => {
      const { port } = await start()
      for (let i = 0; i < 10; i++) {
        const res = await post(port, '{"symbol": "AC')
        expect(res.status).toBe(400)
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
        const body = (await res.json()) as { status?: unknown; errorId?: unknown }
        expect(body.status).toBe(400)
        expect(typeof body.errorId).toBe('string')
      }
      expect(registry.get(KEY).stats()).toMatchObject({ state: 'closed', failures: 0, ignored: 10 })
      expect((await post(port, '{"ok":true}')).status).toBe(200)
    })

    it('a body over the limit gets 413 problem+json and the breaker stays closed', async () => {
      const { port } = await start()
      const big = JSON.stringify({ pad: 'x'.repeat(200 * 1024) })
      for (let i = 0; i < 10; i++) {
        const res = await rawPost(port, big)
        expect(res.status).toBe(413)
        expect(res.headers).toContain('content-type: application/problem+json')
        expect(res.body).toContain('"status":413')
      }
      expect(registry.get(KEY).stats()).toMatchObject({ state: 'closed', failures: 0 })
      expect((await post(port, '{"ok":true}')).status).toBe(200)
    })

    it('10 bodies not received within bodyTimeoutMs get 408 problem+json; the breaker stays closed', async () => {
      const { port } = await start({ bodyTimeoutMs: BODY_TIMEOUT_MS })
      // 10 bytes of the 100 announced, then nothing: each one answered 408 and closed.
      const clients = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          slowClient(port, '{"a":12345', `X-Request-Id: slow-${String(i)}\r\n`),
        ),
      )
      sockets.push(...clients)
      const responses = await Promise.all(clients.map(readUntilClose))
      responses.forEach((res, i) => {
        expect(res.status).toBe(408)
        expect(res.headers).toContain('content-type: application/problem+json')
        expect(res.headers).toContain('cache-control: no-store')
        expect(res.headers).toContain('connection: close')
        expect(res.headers).toContain(`x-request-id: slow-${String(i)}`)
        expect(res.headers).toMatch(/x-error-id: \S+/)
        const body = JSON.parse(res.body) as Record<string, unknown>
        expect(body).toMatchObject({
          status: 408,
          code: 'ERR_BODY_TIMEOUT',
          requestId: `slow-${String(i)}`,
          instance: '/api/echo',
        })
        expect(typeof body.errorId).toBe('string')
      })
      expect(registry.get(KEY).stats()).toMatchObject({
        state: 'closed',
        failures: 0,
        timeouts: 0,
        successes: 0,
        ignored: 10,
      })
      const good = await post(port, '{"symbol":"ACME"}')
      expect(good.status).toBe(200)
      expect(await good.json()).toEqual({ symbol: 'ACME' })
    }, 120_000)

    it('a body that arrives within bodyTimeoutMs gets 200, and its connection lives on past it', async () => {
      const { port } = await start({ bodyTimeoutMs: BODY_TIMEOUT_MS })
      const socket = await slowClient(port, '{"symbol":"ACME",')
      sockets.push(socket)
      let received = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => {
        received += chunk
      })
      socket.write(`"pad":"${'x'.repeat(100 - 17 - 9)}"}`)
      await vi.waitFor(
        () => {
          expect(received).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\n[\s\S]*"symbol":"ACME"/)
        },
        { timeout: 15_000, interval: 20 },
      )
      // Past the deadline: the timer was cleared with the body, nothing more is written and the
      // kept-alive connection still answers.
      await sleep(BODY_TIMEOUT_MS * 3)
      expect(received).not.toMatch(/^HTTP\/1\.1 408 /m)
      received = ''
      socket.write(
        'POST /api/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          'Content-Length: 11\r\n\r\n{"ok":true}',
      )
      await vi.waitFor(
        () => {
          expect(received).toMatch(/^HTTP\/1\.1 200 [\s\S]*"ok":true/)
        },
        { timeout: 15_000, interval: 20 },
      )
      expect(registry.get(KEY).stats()).toMatchObject({ state: 'closed', successes: 2, ignored: 0 })
    }, 120_000)
  })
}
