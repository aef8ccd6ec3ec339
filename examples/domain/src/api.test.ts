import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createScannerApi, parseScanQuery, parseSymbol, type ScannerApi } from './api.js'
import { openDatabase, type ScannerDatabase } from './database.js'
import { isDomainError } from './errors.js'
import { createQuoteFeed } from './feed.js'

let db: ScannerDatabase
let api: ScannerApi

beforeAll(async () => {
  db = await openDatabase({ today: new Date('2025-03-14T12:00:00Z') })
  api = createScannerApi({ db, feed: createQuoteFeed({ latencyMs: 0, slowMs: 10_000 }) })
})
afterAll(() => {
  db.close()
})

function code(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    return isDomainError(error) ? error.code : 'other'
  }
  return undefined
}

describe('parseScanQuery', () => {
  it('turns query strings into criteria and drops empty ones', () => {
    expect(
      parseScanQuery({
        minChangePct: '2.5',
        sector: 'Energy',
        sort: 'volume',
        limit: '5',
        maxPrice: '',
      }),
    ).toEqual({
      minChangePct: 2.5,
      sector: 'Energy',
      sort: 'volume',
      limit: 5,
    })
    expect(parseScanQuery({ minChangePct: ['1', '-3'] })).toEqual({ minChangePct: -3 })
  })

  it('rejects bad parameters with a 400 naming them', () => {
    for (const query of [
      { minChangePct: 'abc' },
      { limit: '0' },
      { limit: '2.5' },
      { sort: 'price' },
      { minVolume: '-1' },
      { sector: 'x'.repeat(65) },
    ]) {
      expect(code(() => parseScanQuery(query))).toBe('ERR_DOMAIN_INVALID_INPUT')
    }
    expect(() => parseScanQuery({ limit: '500' })).toThrow(/"limit"/)
  })
})

describe('parseSymbol', () => {
  it('upper-cases valid symbols and rejects others', () => {
    expect(parseSymbol('brk.b')).toBe('BRK.B')
    expect(code(() => parseSymbol('1ABC'))).toBe('ERR_DOMAIN_INVALID_INPUT')
    expect(code(() => parseSymbol('A'.repeat(11)))).toBe('ERR_DOMAIN_INVALID_INPUT')
    expect(code(() => parseSymbol(undefined))).toBe('ERR_DOMAIN_INVALID_INPUT')
  })
})

describe('createScannerApi', () => {
  it('lists tickers, quotes and scans', () => {
    expect(api.tickers().count).toBe(8)
    expect(api.quote('aapl').symbol).toBe('AAPL')
    expect(code(() => api.quote('NOPE'))).toBe('ERR_DOMAIN_NOT_FOUND')
    const scan = api.scan({ minChangePct: '2' })
    expect(scan).toMatchObject({ count: 2, criteria: { minChangePct: 2 } })
    expect(scan.results.map((q) => q.symbol)).toEqual(['NVDA', 'AMZN'])
  })

  it('fetches from the feed and follows its mode', async () => {
    const live = await api.feedQuote('nvda')
    expect(live).toMatchObject({ symbol: 'NVDA', source: 'upstream-feed' })
    expect(live.ask).toBeGreaterThan(live.bid)
    expect(api.setFeedMode({ mode: 'fail' })).toEqual({ mode: 'fail' })
    expect(api.feedMode()).toEqual({ mode: 'fail' })
    await expect(api.feedQuote('NVDA')).rejects.toMatchObject({
      code: 'ERR_DOMAIN_UPSTREAM',
      status: 502,
    })
    await expect(api.feedQuote('??')).rejects.toMatchObject({ code: 'ERR_DOMAIN_INVALID_INPUT' })
    expect(code(() => api.setFeedMode({ mode: 'broken' }))).toBe('ERR_DOMAIN_INVALID_INPUT')
    expect(api.setFeedMode('ok')).toEqual({ mode: 'ok' })
  })
})

describe('domain errors', () => {
  it('expose 4xx messages to clients and keep 5xx ones internal', async () => {
    let notFound: unknown
    try {
      api.quote('NOPE')
    } catch (error) {
      notFound = error
    }
    expect(notFound).toMatchObject({ status: 404, expose: true, code: 'ERR_DOMAIN_NOT_FOUND' })
    api.setFeedMode('fail')
    await expect(api.feedQuote('NVDA')).rejects.toMatchObject({ status: 502, expose: false })
    api.setFeedMode('ok')
  })
})
