import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isDomainError } from './errors.js'
import { openDatabase, type ScannerDatabase } from './database.js'
import { SEED_DAYS, SEED_TICKERS, tradingDays } from './seed.js'

const today = new Date('2025-03-14T12:00:00Z') // a Friday
const open: ScannerDatabase[] = []
const dirs: string[] = []

async function db(options: Parameters<typeof openDatabase>[0] = {}): Promise<ScannerDatabase> {
  const database = await openDatabase({ today, ...options })
  open.push(database)
  return database
}

afterEach(() => {
  for (const database of open.splice(0)) database.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('openDatabase', () => {
  it('seeds the tickers and their sessions', async () => {
    const database = await db()
    expect(database.listTickers().map((t) => t.symbol)).toEqual(
      SEED_TICKERS.map((t) => t.symbol).sort(),
    )
    expect(database.path).toBeUndefined()
  })

  it('computes quotes from the last two sessions', async () => {
    const database = await db()
    const nvda = database.getQuote('nvda')
    expect(nvda).toMatchObject({
      symbol: 'NVDA',
      price: 138.25,
      currency: 'USD',
      date: '2025-03-14',
    })
    expect(nvda.changePct).toBeCloseTo(4.2, 1)
    expect(nvda.change).toBeCloseTo(nvda.price - nvda.previousClose, 2)
    expect(database.getQuote('TSLA').changePct).toBeCloseTo(-5.1, 1)
  })

  it('throws a 404 domain error for an unknown symbol', async () => {
    const database = await db()
    expect(database.findQuote('ZZZZ')).toBeUndefined()
    try {
      database.getQuote('zzzz')
      expect.unreachable()
    } catch (error) {
      expect(isDomainError(error, 'ERR_DOMAIN_NOT_FOUND')).toBe(true)
      expect(error).toMatchObject({ status: 404, message: 'Unknown symbol "ZZZZ"' })
    }
  })

  it('scans by change, sector, volume and price, sorted', async () => {
    const database = await db()
    expect(database.scan({ minChangePct: 3 }).map((q) => q.symbol)).toEqual(['NVDA'])
    expect(database.scan({ maxChangePct: -2 }).map((q) => q.symbol)).toEqual(['XOM', 'TSLA'])
    expect(database.scan({ sector: 'technology' }).map((q) => q.symbol)).toEqual([
      'NVDA',
      'AAPL',
      'MSFT',
    ])
    const all = database.scan()
    expect(all).toHaveLength(SEED_TICKERS.length)
    expect(all.map((q) => q.changePct)).toEqual(
      [...all.map((q) => q.changePct)].sort((a, b) => b - a),
    )
    expect(database.scan({ sort: 'symbol', limit: 2 }).map((q) => q.symbol)).toEqual([
      'AAPL',
      'AMZN',
    ])
    const byVolume = database.scan({ sort: 'volume' })
    expect(byVolume[0]?.volume).toBeGreaterThanOrEqual(byVolume[1]?.volume ?? 0)
    expect(
      database
        .scan({ minPrice: 200, maxPrice: 240 })
        .every((q) => q.price >= 200 && q.price <= 240),
    ).toBe(true)
    expect(database.scan({ minVolume: Number.MAX_SAFE_INTEGER })).toEqual([])
  })

  it('records prices, and the next quote uses them', async () => {
    const database = await db()
    database.recordPrice({
      symbol: 'KO',
      date: '2025-03-17',
      open: 62,
      high: 64,
      low: 61,
      close: 63.02,
      volume: 1000,
    })
    expect(database.getQuote('KO')).toMatchObject({
      price: 63.02,
      previousClose: 62.4,
      date: '2025-03-17',
    })
  })

  it('answers ping with a latency, and rejects once closed; close is idempotent', async () => {
    const database = await openDatabase({ today })
    await expect(database.ping()).resolves.toBeGreaterThanOrEqual(0)
    database.close()
    database.close()
    await expect(database.ping()).rejects.toThrow(/closed/)
  })

  it('creates, saves and reloads a database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scanner-db-'))
    dirs.push(dir)
    const path = join(dir, 'nested', 'scanner.sqlite')
    const first = await openDatabase({ path, today })
    expect(existsSync(path)).toBe(true)
    first.recordPrice({
      symbol: 'KO',
      date: '2025-03-17',
      open: 62,
      high: 64,
      low: 61,
      close: 70,
      volume: 1,
    })
    first.close()
    const second = await db({ path, today: new Date('2030-01-01') })
    expect(second.getQuote('KO').price).toBe(70)
    expect(second.path).toBe(path)
  })

  it('can start empty', async () => {
    const database = await db({ seed: false })
    expect(database.listTickers()).toEqual([])
    expect(database.scan()).toEqual([])
  })

  it('rejects invalid options naming the option', async () => {
    await expect(openDatabase({ path: '' })).rejects.toThrow(/Invalid option "path"/)
    await expect(openDatabase({ today: new Date(Number.NaN) })).rejects.toThrow(/"today"/)
    await expect(openDatabase({ seed: 'yes' as never })).rejects.toThrow(/"seed"/)
  })
})

describe('tradingDays', () => {
  it('skips weekends and ends on the last weekday', () => {
    const days = tradingDays(new Date('2025-03-16T00:00:00Z'), SEED_DAYS) // a Sunday
    expect(days).toHaveLength(SEED_DAYS)
    expect(days.at(-1)).toBe('2025-03-14')
    for (const day of days) expect([0, 6]).not.toContain(new Date(`${day}T00:00:00Z`).getUTCDay())
  })
})
