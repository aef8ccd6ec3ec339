import { isErrorId, type Logger } from '@scanner/core'
import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createBreakerRegistry, type BreakerRegistry } from '../registry.js'
import { createHttpGuard, endOnClose } from './http.js'

let registry: BreakerRegistry | undefined

afterEach(async () => {
  vi.useRealTimers()
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

describe('createHttpGuard() bodyTimeoutMs', () => {
  const info = { method: 'POST', pattern: '/api/echo', url: '/api/echo?x=1' }

  function fakeRequest(headers: Record<string, string>) {
    return Object.assign(new EventEmitter(), { headers, readableEnded: false })
  }
  function fakeResponse() {
    return Object.assign(new EventEmitter(), {
      headersSent: false,
      writableEnded: false,
      writeHead: vi.fn(),
      end: vi.fn(),
    })
  }
  /** Admits one request and returns the timers it armed (the route's own are created first). */
  function admit(bodyTimeoutMs: number | false | undefined, headers: Record<string, string>) {
    // No slow-call limit: its (per-route) timer would be counted with the deadline's.
    registry ??= createBreakerRegistry({ timeoutMs: false })
    registry.get('POST /api/echo')
    const guard = createHttpGuard(registry, { bodyTimeoutMs })
    const req = fakeRequest(headers)
    const res = fakeResponse()
    const before = vi.getTimerCount()
    const state = guard.state({}, 'rid-1')
    expect(guard.admit(state, info, req, res)).toBeUndefined()
    return { req, res, state, armed: vi.getTimerCount() - before }
  }

  it('arms no timer for a request without a body, or with the deadline disabled', () => {
    vi.useFakeTimers()
    expect(admit(undefined, {}).armed).toBe(0)
    expect(admit(undefined, { 'content-length': '0' }).armed).toBe(0)
    expect(admit(0, { 'content-length': '100' }).armed).toBe(0)
    expect(admit(false, { 'transfer-encoding': 'chunked' }).armed).toBe(0)
  })

  it('answers 408 problem+json once the deadline passed, and the call ends ignored', () => {
    vi.useFakeTimers()
    const { res, armed } = admit(300, { 'content-length': '100' })
    expect(armed).toBe(1)
    vi.advanceTimersByTime(299)
    expect(res.writeHead).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(res.writeHead).toHaveBeenCalledOnce()
    const [status, headers] = res.writeHead.mock.calls[0] as [number, Record<string, string>]
    expect(status).toBe(408)
    expect(headers).toMatchObject({
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      connection: 'close',
      'x-request-id': 'rid-1',
    })
    const body = JSON.parse(String(res.end.mock.calls[0]?.[0])) as Record<string, unknown>
    expect(body).toMatchObject({ status: 408, code: 'ERR_BODY_TIMEOUT', instance: '/api/echo' })
    expect(headers['x-error-id']).toBe(body.errorId)
    expect(headers['content-length']).toBe(
      String(Buffer.byteLength(String(res.end.mock.calls[0]?.[0]))),
    )
    expect(registry?.get('POST /api/echo').stats()).toMatchObject({
      failures: 0,
      successes: 0,
      ignored: 1,
    })
  })

  it('clears the timer when the body ends or the response closes', () => {
    vi.useFakeTimers()
    registry = createBreakerRegistry({ timeoutMs: false })
    registry.get('POST /api/echo')
    const baseline = vi.getTimerCount()
    const ended = admit(300, { 'content-length': '100' })
    ended.req.emit('end')
    const closed = admit(300, { 'transfer-encoding': 'chunked' })
    closed.res.emit('close')
    expect(vi.getTimerCount()).toBe(baseline)
    vi.advanceTimersByTime(1_000)
    expect(ended.res.writeHead).not.toHaveBeenCalled()
    expect(closed.res.writeHead).not.toHaveBeenCalled()
  })

  it('rejects a bad bodyTimeoutMs, naming it', () => {
    const breakers = createBreakerRegistry()
    registry = breakers
    for (const bad of [-1, 1.5, '30', Number.NaN, 2 ** 31, true]) {
      expect(() => createHttpGuard(breakers, { bodyTimeoutMs: bad as never })).toThrow(
        /bodyTimeoutMs/,
      )
    }
  })
})

describe('endOnClose', () => {
  /** A Node response as far as endOnClose reads it; `req` is the request it answers. */
  const response = (req: object | undefined, writableEnded: boolean, statusCode: number) =>
    Object.assign(new EventEmitter(), { req, writableEnded, statusCode })

  it.each([
    ["kept on Node's request (Express)", true],
    ["kept elsewhere (Fastify's request)", false],
  ])('ends the call with the status, or 499 when the client went away: state %s', (_, onReq) => {
    registry = createBreakerRegistry()
    const guard = createHttpGuard(registry)
    const info = { method: 'GET', pattern: '/api/x', url: '/api/x' }
    const outcomes: [boolean, number][] = [
      [true, 200],
      [true, 503],
      [false, 200], // closed before it ended: 499
    ]
    for (const [ended, status] of outcomes) {
      const req = {}
      const holder = onReq ? req : {}
      const state = guard.state(holder, undefined)
      expect(guard.admit(state, info)).toBeUndefined()
      const res = response(req, ended, status)
      const before = Object.getOwnPropertySymbols(res).length
      endOnClose(res, state)
      // Through Node's request, the response gets no property of ours.
      expect(Object.getOwnPropertySymbols(res).length - before).toBe(onReq ? 0 : 1)
      res.emit('close')
      res.emit('close') // a second close counts nothing more
    }
    const stats = registry.stats()[0]
    expect(stats).toMatchObject({ key: 'GET /api/x', successes: 1, failures: 1, ignored: 1 })
  })

  it('does nothing for a request that was not admitted through a breaker', () => {
    registry = createBreakerRegistry()
    const guard = createHttpGuard(registry)
    const req = {}
    const state = guard.state(req, undefined)
    const res = response(req, true, 200)
    endOnClose(res, state)
    expect(res.listenerCount('close')).toBe(0)
  })
})
