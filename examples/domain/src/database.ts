import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import initSqlJs from 'sql.js'
import type { Database, SqlJsStatic, SqlValue } from 'sql.js'
import { invalidOption } from '@scanner/core'
import { domainError } from './errors.js'
import { SEED_TICKERS, seedPrices, type Ticker } from './seed.js'

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /**
   * SQLite file to load and save. The file is created (and seeded) when missing and written
   * back on {@link ScannerDatabase.save} and {@link ScannerDatabase.close}.
   * @default undefined (in memory)
   */
  readonly path?: string
  /**
   * Seed a new database with a few tickers and 30 sessions of daily prices.
   * @default true
   */
  readonly seed?: boolean
  /**
   * Date of the last seeded session (weekends roll back to Friday).
   * @default new Date()
   */
  readonly today?: Date
}

/** A quote computed from the last two stored sessions of a ticker. */
export interface Quote extends Ticker {
  /** Close of the last session. */
  readonly price: number
  readonly previousClose: number
  readonly change: number
  /** Percentage change from the previous close, two decimals. */
  readonly changePct: number
  readonly volume: number
  /** Date of the last session, `YYYY-MM-DD`. */
  readonly date: string
  readonly currency: 'USD'
}

/** Criteria of {@link ScannerDatabase.scan}; every field is optional. */
export interface ScanCriteria {
  /** Keep quotes whose change is at least this percentage (use negatives for losers). */
  readonly minChangePct?: number
  /** Keep quotes whose change is at most this percentage. */
  readonly maxChangePct?: number
  /** Keep quotes whose last-session volume is at least this. */
  readonly minVolume?: number
  /** Keep quotes priced at least this. */
  readonly minPrice?: number
  /** Keep quotes priced at most this. */
  readonly maxPrice?: number
  /** Keep one sector (case-insensitive). */
  readonly sector?: string
  /**
   * Maximum number of results (1-100).
   * @default 50
   */
  readonly limit?: number
  /**
   * Order of the results.
   * @default 'change'
   */
  readonly sort?: 'change' | 'volume' | 'symbol'
}

/** The scanner's data store: a real SQLite database running in WebAssembly (sql.js). */
export interface ScannerDatabase {
  /** Where the database is saved, or `undefined` when it lives in memory only. */
  readonly path: string | undefined
  /** Every stored ticker, by symbol. */
  listTickers(): Ticker[]
  /** The latest quote of `symbol` (case-insensitive), or `undefined` when unknown. */
  findQuote(symbol: string): Quote | undefined
  /** The latest quote of `symbol`; throws `ERR_DOMAIN_NOT_FOUND` (404) when unknown. */
  getQuote(symbol: string): Quote
  /** Quotes of every stored ticker matching `criteria`. */
  scan(criteria?: ScanCriteria): Quote[]
  /** Stores (or replaces) one session's price row. */
  recordPrice(row: {
    symbol: string
    date: string
    open: number
    high: number
    low: number
    close: number
    volume: number
  }): void
  /** Runs `SELECT 1` and returns its latency in milliseconds; throws when closed. */
  ping(): Promise<number>
  /** Writes the database to `path` (atomically), when it has one. */
  save(): void
  /** Saves and frees the database; idempotent. */
  close(): void
}

let sqlJs: Promise<SqlJsStatic> | undefined

/** Loads the sql.js WebAssembly module once per process. */
function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= initSqlJs()
  return sqlJs
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tickers (
  symbol   TEXT PRIMARY KEY,
  name     TEXT NOT NULL,
  exchange TEXT NOT NULL,
  sector   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS prices (
  symbol TEXT NOT NULL REFERENCES tickers(symbol),
  date   TEXT NOT NULL,
  open   REAL NOT NULL,
  high   REAL NOT NULL,
  low    REAL NOT NULL,
  close  REAL NOT NULL,
  volume INTEGER NOT NULL,
  PRIMARY KEY (symbol, date)
);
`

// The last two sessions of every ticker, side by side.
const QUOTES_SQL = `
WITH ranked AS (
  SELECT p.*, ROW_NUMBER() OVER (PARTITION BY p.symbol ORDER BY p.date DESC) AS rn FROM prices p
)
SELECT t.symbol, t.name, t.exchange, t.sector,
       cur.close AS price, prev.close AS previous_close, cur.volume AS volume, cur.date AS date
FROM tickers t
JOIN ranked cur ON cur.symbol = t.symbol AND cur.rn = 1
LEFT JOIN ranked prev ON prev.symbol = t.symbol AND prev.rn = 2
`

const round2 = (value: number): number => Math.round(value * 100) / 100

function toQuote(row: Record<string, SqlValue>): Quote {
  const price = Number(row.price)
  const previousClose = row.previous_close === null ? price : Number(row.previous_close)
  const change = round2(price - previousClose)
  return {
    symbol: String(row.symbol),
    name: String(row.name),
    exchange: String(row.exchange),
    sector: String(row.sector),
    price,
    previousClose,
    change,
    changePct: previousClose === 0 ? 0 : round2((change / previousClose) * 100),
    volume: Number(row.volume),
    date: String(row.date),
    currency: 'USD',
  }
}

function query(db: Database, sql: string, params: SqlValue[] = []): Record<string, SqlValue>[] {
  const statement = db.prepare(sql)
  try {
    statement.bind(params)
    const rows: Record<string, SqlValue>[] = []
    while (statement.step()) rows.push(statement.getAsObject())
    return rows
  } finally {
    statement.free()
  }
}

function seed(db: Database, today: Date): void {
  db.run('BEGIN')
  try {
    for (const ticker of SEED_TICKERS) {
      db.run('INSERT INTO tickers (symbol, name, exchange, sector) VALUES (?, ?, ?, ?)', [
        ticker.symbol,
        ticker.name,
        ticker.exchange,
        ticker.sector,
      ])
      for (const row of seedPrices(ticker, today)) {
        db.run(
          'INSERT INTO prices (symbol, date, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [row.symbol, row.date, row.open, row.high, row.low, row.close, row.volume],
        )
      }
    }
    db.run('COMMIT')
  } catch (error) {
    db.run('ROLLBACK')
    throw error
  }
}

function validateOptions(options: OpenDatabaseOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object', options)
  }
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
    throw invalidOption('path', 'a file path', options.path)
  }
  if (options.seed !== undefined && typeof options.seed !== 'boolean') {
    throw invalidOption('seed', 'a boolean', options.seed)
  }
  if (
    options.today !== undefined &&
    (!(options.today instanceof Date) || Number.isNaN(options.today.getTime()))
  ) {
    throw invalidOption('today', 'a valid Date', options.today)
  }
}

/**
 * Opens the scanner database: SQLite compiled to WebAssembly (sql.js), so it needs no native
 * build on any Node version. In memory by default, or loaded from and saved to `path`; a new
 * database is seeded with a few tickers and 30 sessions of prices.
 *
 * @example
 * ```ts
 * const db = await openDatabase({ path: process.env.DATABASE_PATH })
 * db.getQuote('NVDA') // { symbol: 'NVDA', price: 138.25, changePct: 4.2, ... }
 * db.close()
 * ```
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<ScannerDatabase> {
  validateOptions(options)
  const { path, seed: shouldSeed = true, today = new Date() } = options
  const SQL = await loadSqlJs()
  const existing = path !== undefined && existsSync(path) ? readFileSync(path) : undefined
  const db = new SQL.Database(existing)
  db.run(SCHEMA)
  const empty = query(db, 'SELECT COUNT(*) AS n FROM tickers')[0]?.n === 0
  if (empty && shouldSeed) seed(db, today)
  let closed = false
  let dirty = existing === undefined && path !== undefined

  const live = (): Database => {
    if (closed) throw new Error('The scanner database is closed')
    return db
  }

  const api: ScannerDatabase = {
    path,
    listTickers() {
      return query(
        live(),
        'SELECT symbol, name, exchange, sector FROM tickers ORDER BY symbol',
      ).map((row) => ({
        symbol: String(row.symbol),
        name: String(row.name),
        exchange: String(row.exchange),
        sector: String(row.sector),
      }))
    },
    findQuote(symbol) {
      const row = query(live(), `${QUOTES_SQL} WHERE t.symbol = ?`, [symbol.toUpperCase()])[0]
      return row === undefined ? undefined : toQuote(row)
    },
    getQuote(symbol) {
      const quote = api.findQuote(symbol)
      if (quote === undefined) {
        throw domainError('ERR_DOMAIN_NOT_FOUND', `Unknown symbol "${symbol.toUpperCase()}"`)
      }
      return quote
    },
    scan(criteria = {}) {
      const sector = criteria.sector?.toLowerCase()
      const results = query(live(), QUOTES_SQL)
        .map(toQuote)
        .filter(
          (q) =>
            (criteria.minChangePct === undefined || q.changePct >= criteria.minChangePct) &&
            (criteria.maxChangePct === undefined || q.changePct <= criteria.maxChangePct) &&
            (criteria.minVolume === undefined || q.volume >= criteria.minVolume) &&
            (criteria.minPrice === undefined || q.price >= criteria.minPrice) &&
            (criteria.maxPrice === undefined || q.price <= criteria.maxPrice) &&
            (sector === undefined || q.sector.toLowerCase() === sector),
        )
      const sort = criteria.sort ?? 'change'
      results.sort((a, b) =>
        sort === 'volume'
          ? b.volume - a.volume
          : sort === 'symbol'
            ? a.symbol.localeCompare(b.symbol)
            : b.changePct - a.changePct,
      )
      return results.slice(0, criteria.limit ?? 50)
    },
    recordPrice(row) {
      live().run(
        'INSERT OR REPLACE INTO prices (symbol, date, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [row.symbol, row.date, row.open, row.high, row.low, row.close, row.volume],
      )
      dirty = true
    },
    ping() {
      const started = performance.now()
      try {
        query(live(), 'SELECT 1 AS ok')
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)))
      }
      return Promise.resolve(Math.round((performance.now() - started) * 1000) / 1000)
    },
    save() {
      if (path === undefined || closed || !dirty) return
      mkdirSync(dirname(path), { recursive: true })
      const temporary = `${path}.${process.pid}.tmp`
      writeFileSync(temporary, db.export())
      renameSync(temporary, path)
      dirty = false
    },
    close() {
      if (closed) return
      api.save()
      closed = true
      db.close()
    },
  }
  if (dirty) api.save()
  return api
}
