import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Quote } from './database.js'
import { createQuoteFeed } from './feed.js'

const quote = { symbol: 'NVDA', price: 100 } as Quote
const lookup = (symbol: string): Quote | undefined => (symbol === 'NVDA' ? quote : undefined)

describe('createQuoteFeed', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('answers after its latency in ok mode', async () => {
    const feed = createQuoteFeed({ latencyMs: 50 })
    const pending = feed.fetchQuote('NVDA', lookup)
    await vi.advanceTimersByTimeAsync(50)
    const result = await pending
    expect(result.symbol).toBe('NVDA')
    expect(Math.abs(result.price - 100)).toBeLessThan(0.2)
  })

  it('rejects unknown symbols with a 404 even when failing', async () => {
    const feed = createQuoteFeed({ mode: 'fail' })
    await expect(feed.fetchQuote('ZZZ', lookup)).rejects.toMatchObject({
      code: 'ERR_DOMAIN_NOT_FOUND',
      status: 404,
    })
  })

  it('fails with 502 in fail mode', async () => {
    const feed = createQuoteFeed({ mode: 'fail' })
    const pending = expect(feed.fetchQuote('NVDA', lookup)).rejects.toMatchObject({
      code: 'ERR_DOMAIN_UPSTREAM',
      status: 502,
    })
    await vi.advanceTimersByTimeAsync(10)
    await pending
  })

  it('hangs in slow mode until the signal aborts', async () => {
    const feed = createQuoteFeed({ mode: 'slow', slowMs: 60_000 })
    const controller = new AbortController()
    const pending = expect(
      feed.fetchQuote('NVDA', lookup, controller.signal),
    ).rejects.toMatchObject({
      code: 'ERR_DOMAIN_UPSTREAM_TIMEOUT',
      status: 504,
    })
    await vi.advanceTimersByTimeAsync(1000)
    controller.abort()
    await pending
    const slow = feed.fetchQuote('NVDA', lookup)
    await vi.advanceTimersByTimeAsync(60_000)
    await expect(slow).resolves.toMatchObject({ symbol: 'NVDA' })
  })

  it('switches modes at runtime and validates options', () => {
    const feed = createQuoteFeed()
    expect(feed.mode).toBe('ok')
    expect(feed.setMode('slow')).toBe('slow')
    expect(feed.mode).toBe('slow')
    expect(() => feed.setMode('nope')).toThrow(/Invalid feed mode/)
    expect(() => createQuoteFeed({ mode: 'down' as never })).toThrow(/Invalid option "mode"/)
    expect(() => createQuoteFeed({ latencyMs: -1 })).toThrow(/Invalid option "latencyMs"/)
  })
})
