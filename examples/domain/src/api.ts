import type { Quote, ScanCriteria, ScannerDatabase } from './database.js'
import { domainError } from './errors.js'
import type { FeedMode, FeedQuote, QuoteFeed } from './feed.js'
import type { Ticker } from './seed.js'

const SYMBOL_RE = /^[A-Za-z][A-Za-z.-]{0,9}$/

/** Query parameters understood by `GET /api/scan`. */
export const SCAN_PARAMS = Object.freeze([
  'minChangePct',
  'maxChangePct',
  'minVolume',
  'minPrice',
  'maxPrice',
  'sector',
  'limit',
  'sort',
] as const)

function single(query: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = query[name]
  if (value === undefined) return undefined
  if (Array.isArray(value)) return single({ [name]: value[value.length - 1] as unknown }, name)
  if (typeof value !== 'string') {
    throw domainError('ERR_DOMAIN_INVALID_INPUT', `Query parameter "${name}" must be a string`)
  }
  return value
}

function numberParam(
  query: Readonly<Record<string, unknown>>,
  name: string,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  const raw = single(query, name)
  if (raw === undefined || raw === '') return undefined
  const value = Number(raw)
  if (
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw domainError(
      'ERR_DOMAIN_INVALID_INPUT',
      `Query parameter "${name}" must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`,
    )
  }
  return value
}

/**
 * Validates the query string of `GET /api/scan` (as parsed by any framework) into
 * {@link ScanCriteria}; throws `ERR_DOMAIN_INVALID_INPUT` (400) naming the bad parameter.
 *
 * @example
 * ```ts
 * parseScanQuery({ minChangePct: '2', sort: 'volume' }) // { minChangePct: 2, sort: 'volume' }
 * ```
 */
export function parseScanQuery(query: Readonly<Record<string, unknown>>): ScanCriteria {
  const criteria: Record<string, unknown> = {
    minChangePct: numberParam(query, 'minChangePct', -100, 1000),
    maxChangePct: numberParam(query, 'maxChangePct', -100, 1000),
    minVolume: numberParam(query, 'minVolume', 0, Number.MAX_SAFE_INTEGER),
    minPrice: numberParam(query, 'minPrice', 0, Number.MAX_SAFE_INTEGER),
    maxPrice: numberParam(query, 'maxPrice', 0, Number.MAX_SAFE_INTEGER),
    limit: numberParam(query, 'limit', 1, 100, true),
  }
  const sector = single(query, 'sector')
  if (sector !== undefined && sector !== '') {
    if (sector.length > 64) {
      throw domainError('ERR_DOMAIN_INVALID_INPUT', 'Query parameter "sector" is too long')
    }
    criteria.sector = sector
  }
  const sort = single(query, 'sort')
  if (sort !== undefined && sort !== '') {
    if (sort !== 'change' && sort !== 'volume' && sort !== 'symbol') {
      throw domainError(
        'ERR_DOMAIN_INVALID_INPUT',
        'Query parameter "sort" must be one of change, volume, symbol',
      )
    }
    criteria.sort = sort
  }
  return Object.fromEntries(Object.entries(criteria).filter(([, value]) => value !== undefined))
}

/**
 * Checks a ticker symbol from a URL; throws `ERR_DOMAIN_INVALID_INPUT` (400) when malformed.
 */
export function parseSymbol(symbol: unknown): string {
  if (typeof symbol !== 'string' || !SYMBOL_RE.test(symbol)) {
    throw domainError('ERR_DOMAIN_INVALID_INPUT', 'A symbol is 1 to 10 letters, dots or dashes')
  }
  return symbol.toUpperCase()
}

/** The scanner API's operations, free of any web framework: each route calls one. */
export interface ScannerApi {
  /** `GET /api/tickers` */
  tickers(): { readonly count: number; readonly tickers: Ticker[] }
  /** `GET /api/quotes/:symbol` */
  quote(symbol: unknown): Quote
  /** `GET /api/scan?minChangePct=2&sector=Technology&sort=volume&limit=10` */
  scan(query: Readonly<Record<string, unknown>>): {
    readonly count: number
    readonly criteria: ScanCriteria
    readonly results: Quote[]
  }
  /** `GET /api/feed/:symbol`: a live quote from the (failable) upstream feed. */
  feedQuote(symbol: unknown, signal?: AbortSignal): Promise<FeedQuote>
  /** `GET /api/feed/mode` */
  feedMode(): { readonly mode: FeedMode }
  /** `POST /api/feed/mode` with `{ "mode": "ok" | "fail" | "slow" }` */
  setFeedMode(body: unknown): { readonly mode: FeedMode }
}

/**
 * Builds the framework-free scanner API over a database and a quote feed.
 *
 * @example
 * ```ts
 * const api = createScannerApi({ db: await openDatabase(), feed: createQuoteFeed() })
 * app.get('/api/quotes/:symbol', (req, res) => res.json(api.quote(req.params.symbol)))
 * ```
 */
export function createScannerApi(deps: {
  readonly db: ScannerDatabase
  readonly feed: QuoteFeed
}): ScannerApi {
  const { db, feed } = deps
  return {
    tickers() {
      const tickers = db.listTickers()
      return { count: tickers.length, tickers }
    },
    quote(symbol) {
      return db.getQuote(parseSymbol(symbol))
    },
    scan(query) {
      const criteria = parseScanQuery(query)
      const results = db.scan(criteria)
      return { count: results.length, criteria, results }
    },
    async feedQuote(symbol, signal) {
      return feed.fetchQuote(parseSymbol(symbol), (s) => db.findQuote(s), signal)
    },
    feedMode() {
      return { mode: feed.mode }
    },
    setFeedMode(body) {
      const mode =
        typeof body === 'object' && body !== null ? (body as { mode?: unknown }).mode : body
      return { mode: feed.setMode(mode) }
    },
  }
}
