import { checkNumber, checkOneOf } from '@scanner/core'
import type { Quote } from './database.js'
import { domainError } from './errors.js'

/** How the simulated upstream quote feed behaves: answer, fail at once, or hang. */
export type FeedMode = 'ok' | 'fail' | 'slow'

/** Every {@link FeedMode}. */
export const FEED_MODES: readonly FeedMode[] = Object.freeze(['ok', 'fail', 'slow'])

/** Options of {@link createQuoteFeed}. */
export interface QuoteFeedOptions {
  /**
   * Behaviour at start (the examples read it from `FEED_MODE`).
   * @default 'ok'
   */
  readonly mode?: FeedMode
  /**
   * Simulated network latency of a normal answer, in milliseconds.
   * @default 15
   */
  readonly latencyMs?: number
  /**
   * How long a call hangs in `slow` mode before answering, in milliseconds.
   * @default 5000
   */
  readonly slowMs?: number
}

/** A live quote as returned by the upstream feed. */
export interface FeedQuote {
  readonly symbol: string
  readonly price: number
  readonly bid: number
  readonly ask: number
  readonly asOf: string
  readonly source: 'upstream-feed'
}

/** A client of the upstream quote feed whose failure mode can be changed at runtime. */
export interface QuoteFeed {
  /** The current behaviour. */
  readonly mode: FeedMode
  /** Changes the behaviour; throws `ERR_DOMAIN_INVALID_INPUT` (400) for an unknown mode. */
  setMode(mode: unknown): FeedMode
  /**
   * Fetches a live quote. `lookup` supplies the stored quote the simulated feed starts from;
   * an unknown symbol throws `ERR_DOMAIN_NOT_FOUND` (404). In `fail` mode it rejects with
   * `ERR_DOMAIN_UPSTREAM` (502); in `slow` mode it hangs for `slowMs` or until `signal` aborts.
   */
  fetchQuote(
    symbol: string,
    lookup: (symbol: string) => Quote | undefined,
    signal?: AbortSignal,
  ): Promise<FeedQuote>
}

/** Defaults of {@link QuoteFeedOptions}. */
export const defaultQuoteFeedOptions = Object.freeze({
  mode: 'ok',
  latencyMs: 15,
  slowMs: 5000,
} as const satisfies Required<QuoteFeedOptions>)

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(
        domainError('ERR_DOMAIN_UPSTREAM_TIMEOUT', 'Quote feed request aborted', signal.reason),
      )
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(
        domainError('ERR_DOMAIN_UPSTREAM_TIMEOUT', 'Quote feed request aborted', signal?.reason),
      )
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    timer.unref()
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Creates the simulated upstream quote feed: the dependency of `GET /api/feed/:symbol`, the
 * route whose circuit breaker the examples open on demand (`POST /api/feed/mode`).
 *
 * @example
 * ```ts
 * const feed = createQuoteFeed({ mode: 'ok' })
 * await feed.fetchQuote('NVDA', (s) => db.findQuote(s))
 * feed.setMode('fail') // every call now rejects with a 502 error
 * ```
 */
export function createQuoteFeed(options: QuoteFeedOptions = {}): QuoteFeed {
  let mode = checkOneOf('mode', options.mode, FEED_MODES, defaultQuoteFeedOptions.mode)
  const latencyMs = checkNumber('latencyMs', options.latencyMs, defaultQuoteFeedOptions.latencyMs, {
    max: 60_000,
  })
  const slowMs = checkNumber('slowMs', options.slowMs, defaultQuoteFeedOptions.slowMs, {
    max: 600_000,
  })

  return {
    get mode() {
      return mode
    },
    setMode(next) {
      if (typeof next !== 'string' || !(FEED_MODES as readonly string[]).includes(next)) {
        throw domainError(
          'ERR_DOMAIN_INVALID_INPUT',
          `Invalid feed mode: expected one of ${FEED_MODES.join(', ')}`,
        )
      }
      mode = next as FeedMode
      return mode
    },
    async fetchQuote(symbol, lookup, signal) {
      const stored = lookup(symbol)
      if (stored === undefined) {
        throw domainError('ERR_DOMAIN_NOT_FOUND', `Unknown symbol "${symbol.toUpperCase()}"`)
      }
      const current = mode
      if (current === 'fail') {
        await sleep(Math.min(latencyMs, 5), signal)
        throw domainError(
          'ERR_DOMAIN_UPSTREAM',
          'Quote feed unavailable: upstream answered 503 Service Unavailable',
        )
      }
      await sleep(current === 'slow' ? slowMs : latencyMs, signal)
      const drift = 1 + (Math.random() - 0.5) * 0.002
      const price = Math.round(stored.price * drift * 100) / 100
      return {
        symbol: stored.symbol,
        price,
        bid: Math.round((price - 0.01) * 100) / 100,
        ask: Math.round((price + 0.01) * 100) / 100,
        asOf: new Date().toISOString(),
        source: 'upstream-feed',
      }
    },
  }
}
