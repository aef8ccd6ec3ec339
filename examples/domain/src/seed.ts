/** A listed company as stored in the `tickers` table. */
export interface Ticker {
  readonly symbol: string
  readonly name: string
  readonly exchange: string
  readonly sector: string
}

/** Seed row: a ticker, its last close and the percentage change of its last session. */
export interface SeedTicker extends Ticker {
  readonly lastClose: number
  readonly lastChangePct: number
  readonly avgVolume: number
}

/** The tickers every new database starts with. */
export const SEED_TICKERS: readonly SeedTicker[] = Object.freeze([
  {
    symbol: 'AAPL',
    name: 'Apple Inc.',
    exchange: 'NASDAQ',
    sector: 'Technology',
    lastClose: 229.87,
    lastChangePct: 1.3,
    avgVolume: 52_000_000,
  },
  {
    symbol: 'MSFT',
    name: 'Microsoft Corporation',
    exchange: 'NASDAQ',
    sector: 'Technology',
    lastClose: 415.1,
    lastChangePct: -0.4,
    avgVolume: 21_000_000,
  },
  {
    symbol: 'NVDA',
    name: 'NVIDIA Corporation',
    exchange: 'NASDAQ',
    sector: 'Technology',
    lastClose: 138.25,
    lastChangePct: 4.2,
    avgVolume: 240_000_000,
  },
  {
    symbol: 'AMZN',
    name: 'Amazon.com, Inc.',
    exchange: 'NASDAQ',
    sector: 'Consumer Discretionary',
    lastClose: 201.7,
    lastChangePct: 2.1,
    avgVolume: 40_000_000,
  },
  {
    symbol: 'TSLA',
    name: 'Tesla, Inc.',
    exchange: 'NASDAQ',
    sector: 'Consumer Discretionary',
    lastClose: 251.44,
    lastChangePct: -5.1,
    avgVolume: 95_000_000,
  },
  {
    symbol: 'JPM',
    name: 'JPMorgan Chase & Co.',
    exchange: 'NYSE',
    sector: 'Financials',
    lastClose: 242.3,
    lastChangePct: 0.7,
    avgVolume: 9_000_000,
  },
  {
    symbol: 'XOM',
    name: 'Exxon Mobil Corporation',
    exchange: 'NYSE',
    sector: 'Energy',
    lastClose: 112.6,
    lastChangePct: -2.6,
    avgVolume: 15_000_000,
  },
  {
    symbol: 'KO',
    name: 'The Coca-Cola Company',
    exchange: 'NYSE',
    sector: 'Consumer Staples',
    lastClose: 62.4,
    lastChangePct: 0.1,
    avgVolume: 13_000_000,
  },
])

/** Number of daily sessions seeded per ticker. */
export const SEED_DAYS = 30

/** A deterministic PRNG (mulberry32), so a seeded database is the same on every run. */
export function seededRandom(seed: string): () => number {
  let state = 0
  for (const char of seed) state = (Math.imul(state ^ char.charCodeAt(0), 2_654_435_761) >>> 0) + 1
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** The `count` most recent weekdays up to and including `end` (or the weekday before it), oldest first, as `YYYY-MM-DD`. */
export function tradingDays(end: Date, count: number): string[] {
  const days: string[] = []
  const cursor = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()))
  while (days.length < count) {
    const weekday = cursor.getUTCDay()
    if (weekday !== 0 && weekday !== 6) days.push(cursor.toISOString().slice(0, 10))
    cursor.setUTCDate(cursor.getUTCDate() - 1)
  }
  return days.reverse()
}

/** One daily price row. */
export interface PriceRow {
  readonly symbol: string
  readonly date: string
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
}

const round2 = (value: number): number => Math.round(value * 100) / 100

/**
 * Builds `SEED_DAYS` sessions of prices for a ticker by walking backwards from its last
 * close, so the last session's change is exactly `lastChangePct` (to the cent).
 */
export function seedPrices(ticker: SeedTicker, end: Date): PriceRow[] {
  const random = seededRandom(ticker.symbol)
  const days = tradingDays(end, SEED_DAYS)
  const closes: number[] = new Array<number>(days.length)
  closes[days.length - 1] = ticker.lastClose
  closes[days.length - 2] = ticker.lastClose / (1 + ticker.lastChangePct / 100)
  for (let i = days.length - 3; i >= 0; i--) {
    const next = closes[i + 1] ?? ticker.lastClose
    closes[i] = next / (1 + (random() - 0.5) * 0.04)
  }
  return days.map((date, i) => {
    const close = round2(closes[i] ?? ticker.lastClose)
    const open = round2(close * (1 + (random() - 0.5) * 0.01))
    return {
      symbol: ticker.symbol,
      date,
      open,
      high: round2(Math.max(open, close) * (1 + random() * 0.01)),
      low: round2(Math.min(open, close) * (1 - random() * 0.01)),
      close,
      volume: Math.round(ticker.avgVolume * (0.6 + random() * 0.8)),
    }
  })
}
