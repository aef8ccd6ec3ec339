import { afterEach, describe, expect, it, vi } from 'vitest'
import { noopLogger, type Logger } from '@scanner/core'
import {
  createDnsMonitor,
  createStatusHistory,
  recordBreakers,
  recordDns,
  recordErrors,
  recordTunnel,
  STATUS_FIELD_LIMITS,
  type StatusEventInput,
} from '@scanner/health'
import { startDnsServer } from './fixtures/dns-server.js'

describe('createStatusHistory', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('keeps the newest `capacity` events in order, counting what it dropped', () => {
    const history = createStatusHistory({ capacity: 3 })
    for (let i = 0; i < 5; i++) history.add({ kind: 'quic', connIndex: i })
    expect(history.size).toBe(3)
    expect(history.lastSeq).toBe(5)
    expect(history.events().map((e) => e.seq)).toEqual([3, 4, 5])
    expect(history.toJSON()).toMatchObject({ capacity: 3, size: 3, lastSeq: 5, dropped: 2 })
    expect(history.events({ afterSeq: 4 }).map((e) => e.seq)).toEqual([5])
  })

  it('stamps events with the time, filters by time and kind', () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const history = createStatusHistory()
    history.add({ kind: 'state', state: 'running', previous: 'starting' })
    vi.advanceTimersByTime(60_000)
    history.add({ kind: 'restart', reason: 'exit', strategy: 'break-before-make', delayMs: 500 })
    history.add({ kind: 'dns', status: 'failure', at: 2_000_000 })
    expect(history.events().map((e) => e.at)).toEqual([1_000_000, 1_060_000, 2_000_000])
    expect(history.events({ sinceMs: 1_060_000 }).map((e) => e.kind)).toEqual(['restart', 'dns'])
    expect(history.events({ kinds: ['state', 'dns'] }).map((e) => e.kind)).toEqual(['state', 'dns'])
  })

  it('remembers the latest event of each kind after the ring dropped it', () => {
    const history = createStatusHistory({ capacity: 2 })
    history.add({ kind: 'state', state: 'running', previous: 'starting' })
    history.add({ kind: 'quic' })
    history.add({ kind: 'quic' })
    expect(history.events().some((e) => e.kind === 'state')).toBe(false)
    expect(history.latest('state')).toMatchObject({ state: 'running', seq: 1 })
    expect(history.latest('error')).toBeUndefined()
  })

  it('bounds every string and strips control characters, so no event grows without bound', () => {
    const history = createStatusHistory({ capacity: 10 })
    const huge = 'x'.repeat(100_000)
    const event = history.add({
      kind: 'error',
      errorId: huge,
      message: `line1\nline2\u0000\u001b[31m\u2028${huge}`,
      source: huge,
    })
    expect(event.kind === 'error' && event.message.startsWith('line1 line2  [31m ')).toBe(true)
    if (event.kind !== 'error') throw new Error('kind')
    expect(event.message).toHaveLength(STATUS_FIELD_LIMITS.text)
    expect(event.message.endsWith('…')).toBe(true)
    expect(event.errorId).toHaveLength(STATUS_FIELD_LIMITS.word)
    const breaker = history.add({ kind: 'breaker', key: huge, state: huge, previous: huge })
    expect(JSON.stringify(breaker).length).toBeLessThan(1024)
    // Unknown fields are dropped; non-finite numbers too.
    const restart = history.add({
      kind: 'restart',
      reason: 'exit',
      delayMs: Number.NaN,
      extra: huge,
    } as StatusEventInput)
    expect(restart).toEqual({ seq: 3, at: restart.at, kind: 'restart', reason: 'exit' })
    // A cut never splits a surrogate pair.
    const emoji = history.add({ kind: 'error', message: '😀'.repeat(1000) })
    if (emoji.kind !== 'error') throw new Error('kind')
    expect(emoji.message).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/)
  })

  it('names what is wrong in a bad event or option', () => {
    const history = createStatusHistory()
    expect(() => history.add({ kind: 'nope' } as unknown as StatusEventInput)).toThrow(
      /"kind" must be one of state, restart, quic, dns, breaker, error, got "nope"/,
    )
    expect(() => history.add({ kind: 'restart', reason: '' })).toThrow(/"reason" must be/)
    expect(() =>
      history.add({ kind: 'dns', status: 'bad' } as unknown as StatusEventInput),
    ).toThrow(/"status" must be one of failure, network-down, recovered/)
    expect(() => createStatusHistory({ capacity: 0 })).toThrow(/capacity/)
    expect(() => createStatusHistory({ capacity: 1.5 })).toThrow(/capacity/)
    expect(history.size).toBe(0)
  })

  it('tells subscribers about each event; a throwing listener harms no one', () => {
    const history = createStatusHistory()
    const seen: number[] = []
    history.subscribe(() => {
      throw new Error('listener bug')
    })
    const off = history.subscribe((e) => seen.push(e.seq))
    history.add({ kind: 'quic' })
    off()
    off()
    history.add({ kind: 'quic' })
    expect(seen).toEqual([1])
    expect(history.size).toBe(2)
  })
})

/** A stand-in with the shape of `Tunnel`'s subscriptions (health cannot import the tunnel). */
function fakeTunnel() {
  const listeners = new Map<string, Set<(event: never) => void>>()
  const on = (event: string, listener: (event: never) => void): (() => void) => {
    const set = listeners.get(event) ?? new Set()
    listeners.set(event, set)
    set.add(listener)
    return () => set.delete(listener)
  }
  return {
    emit(event: string, payload: unknown) {
      for (const listener of listeners.get(event) ?? []) listener(payload as never)
    },
    count: () => [...listeners.values()].reduce((n, s) => n + s.size, 0),
    onStateChange: (l: (e: { state: string; previous: string }) => void) => on('state', l),
    onRestart: (l: (e: { reason: string; delayMs: number; exitCode: number | null }) => void) =>
      on('restart', l),
    on,
  }
}

describe('status history adapters', () => {
  it('recordTunnel records state changes, restarts with strategy, QUIC incidents and giving up', () => {
    const history = createStatusHistory()
    const tunnel = fakeTunnel()
    const off = recordTunnel(history, tunnel)
    tunnel.emit('state', { state: 'running', previous: 'starting' })
    tunnel.emit('quic-timeout', { connIndex: 2, incidents: 3 })
    tunnel.emit('restart', {
      reason: 'quic-timeouts',
      delayMs: 0,
      exitCode: null,
      strategy: 'make-before-break',
      handoverMs: 1500,
    })
    tunnel.emit('restart', { reason: 'exit', delayMs: 700, exitCode: 1, signal: null })
    tunnel.emit('failed', { reason: 'unauthorized', message: 'Unauthorized', at: 1, lastLines: [] })
    expect(history.events().map(({ seq: _s, at: _a, ...rest }) => rest)).toEqual([
      { kind: 'state', state: 'running', previous: 'starting' },
      { kind: 'quic', connIndex: 2, incidents: 3 },
      {
        kind: 'restart',
        reason: 'quic-timeouts',
        strategy: 'make-before-break',
        delayMs: 0,
        handoverMs: 1500,
      },
      { kind: 'restart', reason: 'exit', delayMs: 700, exitCode: 1 },
      { kind: 'error', source: 'tunnel', message: 'gave up (unauthorized): Unauthorized' },
    ])
    off()
    expect(tunnel.count()).toBe(0)
  })

  it('recordBreakers records open, half-open and close with the route key', () => {
    const history = createStatusHistory()
    const registry = fakeTunnel()
    const off = recordBreakers(history, registry)
    registry.emit('open', {
      key: 'GET /api/feed/:symbol',
      state: 'open',
      previous: 'closed',
      at: 5,
    })
    registry.emit('half-open', {
      key: 'GET /api/feed/:symbol',
      state: 'half-open',
      previous: 'open',
    })
    expect(history.events().map((e) => (e.kind === 'breaker' ? e.state : e.kind))).toEqual([
      'open',
      'half-open',
    ])
    expect(history.events()[0]?.at).toBe(5)
    off()
    expect(registry.count()).toBe(0)
  })

  it('recordDns records a real DNS monitor episode against a loopback DNS server', async () => {
    const system = await startDnsServer({ 'edge.test': ['192.0.2.1'] })
    const fallback = await startDnsServer({ 'edge.test': ['192.0.2.1'] })
    const monitor = createDnsMonitor({
      names: ['edge.test'],
      systemServers: [system.address],
      fallbacks: [fallback.address],
      timeoutMs: 300,
    })
    const history = createStatusHistory()
    const off = recordDns(history, monitor)
    try {
      await monitor.checkNow()
      system.mode = 'servfail'
      await monitor.checkNow()
      fallback.mode = 'drop'
      await monitor.checkNow()
      system.mode = 'answer'
      fallback.mode = 'answer'
      await monitor.checkNow()
      const dns = history.events({ kinds: ['dns'] })
      expect(dns.map((e) => (e.kind === 'dns' ? e.status : ''))).toEqual([
        'failure',
        'network-down',
        'recovered',
      ])
      expect(dns[0]).toMatchObject({ detail: expect.stringMatching(/^edge\.test via /) })
    } finally {
      off()
      await monitor.close()
      await system.stop()
      await fallback.stop()
    }
  })

  it('recordErrors records logged errors by error ID (children too) and passes every call on', () => {
    const history = createStatusHistory()
    const calls: unknown[][] = []
    const base: Logger = {
      ...noopLogger,
      error: (...args: unknown[]) => calls.push(['error', ...args]),
      warn: (...args: unknown[]) => calls.push(['warn', ...args]),
      info: (...args: unknown[]) => calls.push(['info', ...args]),
      child: () => base,
    }
    const logger = recordErrors(history, base)
    const err = new Error('upstream <b>down</b>')
    logger.child({ module: 'http' }).error(
      {
        err,
        errorId: 'err_01JDQ8X6R5T0Y3V9K2M4N6P8Q0',
        route: 'GET /api/feed/:symbol',
        status: 502,
      },
      'unhandled error',
    )
    logger.info({ errorId: 'err_x' }, 'not an error level')
    logger.error('plain message without an id')
    expect(calls).toHaveLength(3)
    expect(history.events()).toEqual([
      expect.objectContaining({
        kind: 'error',
        errorId: 'err_01JDQ8X6R5T0Y3V9K2M4N6P8Q0',
        message: 'GET /api/feed/:symbol: upstream <b>down</b>',
        source: 'api',
        status: 502,
      }),
    ])
  })
})
