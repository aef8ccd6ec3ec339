// A client's faults are never a breaker's failures, on every framework, over real sockets on
// loopback: slow bodies (headers, then nothing past timeoutMs), bodies cut short, malformed JSON.
import { connect, type Socket } from 'node:net'
import {
  createBreakerRegistry,
  type BreakerRegistry,
  type HttpBreakerOptions,
} from '@scanner/circuit-breaker'
import { afterEach, describe, expect, it, vi } from 'vitest'

/** A server answering `POST /api/echo` with the JSON body it parsed (the framework's way). */
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

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms)
  })

/** Opens a connection that sends a POST's headers (and `partial` of its body), then nothing. */
function slowClient(port: number, partial = ''): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /api/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          `Content-Length: 100\r\n\r\n${partial}`,
      )
      resolve(socket)
    })
    socket.on('error', reject)
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

    async function start(): Promise<EchoServer> {
      // Five failures in ten would open it: each fault below is sent ten times.
      registry = createBreakerRegistry({ timeoutMs: TIMEOUT_MS, volumeThreshold: 5 })
      server = await makeServer(registry, {})
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
  })
}
